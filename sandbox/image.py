"""The sandbox image: python3, pytest and the Go toolchain on a minimal
Debian, user 1000.

Built from sandbox/Dockerfile where a container registry is reachable;
otherwise offline, from a debootstrap root file system imported into Docker.
The root file system is kept: the bubblewrap back end runs tasks on it too.
Both carry the package list they were built with, so a changed list
rebuilds them and an unchanged one is left alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from forge.workspace import cache_root
from sandbox.limits import SandboxError

CACHE = cache_root()
ROOTFS = Path(os.environ.get("DOMAINFORGE_SANDBOX_ROOTFS", CACHE / "sandbox-rootfs"))
DOCKERFILE = Path(__file__).with_name("Dockerfile")
PACKAGES = "python3-minimal,python3-pytest,golang-go"
RECIPE = PACKAGES + ";go-std-without-cgo"  # what an image is built with; a change here rebuilds it
STAMP = "etc/domainforge-packages"  # in the root file system
LABEL = "domainforge.packages"  # on the image
# The Go distribution's own test suite and API lists: never used by a task.
UNUSED = ("usr/share/go-1.19/test", "usr/share/go-1.19/api", "usr/share/doc", "usr/share/locale", "usr/share/man")


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def rootfs_is_current(target: Path = ROOTFS) -> bool:
    try:
        return (target / STAMP).read_text().strip() == RECIPE
    except OSError:
        return False


def build_rootfs(target: Path = ROOTFS, suite: str = "bookworm") -> Path:
    """debootstrap a minimal Debian with PACKAGES, and a user 1000."""
    if rootfs_is_current(target):
        return target
    if shutil.which("debootstrap") is None:
        raise SandboxError("debootstrap is not installed: apt-get install -y debootstrap")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    result = _run(["debootstrap", "--variant=minbase", f"--include={PACKAGES}", suite, str(partial)])
    if result.returncode != 0:
        raise SandboxError(f"debootstrap failed (exit {result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    result = _run(["chroot", str(partial), "useradd", "-u", "1000", "-m", "-s", "/bin/sh", "sandbox"])
    if result.returncode != 0:
        raise SandboxError(f"could not add the sandbox user: {result.stderr}")
    # Tasks build Go without cgo (there is no C compiler): the standard library,
    # compiled so once here, is not recompiled by every task.
    result = _run(["chroot", str(partial), "env", "CGO_ENABLED=0", "HOME=/tmp", "GOCACHE=/tmp/go-build",
                   "PATH=/usr/bin:/bin", "go", "install", "std"])
    if result.returncode != 0:
        raise SandboxError(f"could not compile Go's standard library: {result.stderr[-2000:]}")
    shutil.rmtree(partial / "tmp" / "go-build", ignore_errors=True)
    (partial / "work").mkdir()  # the mount point for each task's directory
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for item in (partial / cache).glob("*"):
            if item.is_file():
                item.unlink()
    for unused in UNUSED:
        shutil.rmtree(partial / unused, ignore_errors=True)
    (partial / STAMP).write_text(RECIPE + "\n")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def build_image(tag: str, *, offline: bool = False, force: bool = False) -> str:
    """Build the Docker image (and the root file system) unless both are current;
    returns how it was built."""
    if shutil.which("docker") is None:
        raise SandboxError("the docker client is not installed: apt-get install -y docker.io")
    if not force and image_is_current(tag) and rootfs_is_current():
        return "nothing: the image and the root file system are up to date"
    if not offline:
        built = _run(["docker", "build", "--build-arg", f"PACKAGES={PACKAGES.replace(',', ' ')}", "-t", tag,
                      "-f", str(DOCKERFILE), str(DOCKERFILE.parent)], timeout=900)
        if built.returncode == 0:
            return "Dockerfile"
    rootfs = build_rootfs()
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    imported = _run(["docker", "import", "--change", "USER 1000", "--change", "WORKDIR /work",
                     "--change", f"LABEL {LABEL}={RECIPE}", "-", tag], stdin=tar.stdout)
    tar.wait()
    if imported.returncode != 0:
        raise SandboxError(f"docker import failed: {imported.stderr.strip()}. Is the Docker engine running?")
    return f"debootstrap root file system at {rootfs}"


def image_is_current(tag: str) -> bool:
    found = _run(["docker", "image", "inspect", "--format", f'{{{{ index .Config.Labels "{LABEL}" }}}}', tag])
    return found.returncode == 0 and found.stdout.strip() == RECIPE
