#!/usr/bin/env bash
# Set up everything DomainForge needs on a fresh Debian/Ubuntu machine with
# Python 3.11: a virtual environment in .venv with every Python dependency,
# llama-cpp-python compiled from source included. Safe to run again: it only
# redoes the pip step when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

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
    CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) .venv/bin/pip install --quiet -e ".[llamacpp,train,dev]"
    echo "$want" > "$stamp"
fi
echo "==> environment ready: .venv"
