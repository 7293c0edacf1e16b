"""The sandbox image: python3 and pytest on a minimal Debian, user 1000.

Built from sandbox/Dockerfile where a container registry is reachable;
otherwise offline, from a debootstrap root file system imported into Docker.
The root file system is kept: the bubblewrap back end runs tasks on it too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sandbox.limits import SandboxError

CACHE = Path(os.environ.get("DOMAINFORGE_CACHE", Path.home() / ".cache" / "domainforge"))
ROOTFS = Path(os.environ.get("DOMAINFORGE_SANDBOX_ROOTFS", CACHE / "sandbox-rootfs"))
DOCKERFILE = Path(__file__).with_name("Dockerfile")
PACKAGES = "python3-minimal,python3-pytest"


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def build_rootfs(target: Path = ROOTFS, suite: str = "bookworm") -> Path:
    """debootstrap a minimal Debian with python3 and pytest, and a user 1000."""
    if (target / "work").is_dir() and (target / "usr" / "bin" / "python3").exists():
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
    (partial / "work").mkdir()  # the mount point for each task's directory
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for item in (partial / cache).glob("*"):
            if item.is_file():
                item.unlink()
    partial.rename(target)
    return target


def build_image(tag: str, *, offline: bool = False) -> str:
    """Build the Docker image; returns how it was built."""
    if shutil.which("docker") is None:
        raise SandboxError("the docker client is not installed: apt-get install -y docker.io")
    if not offline:
        built = _run(["docker", "build", "-t", tag, "-f", str(DOCKERFILE), str(DOCKERFILE.parent)], timeout=900)
        if built.returncode == 0:
            return "Dockerfile"
    rootfs = build_rootfs()
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    imported = _run(["docker", "import", "--change", "USER 1000", "--change", "WORKDIR /work", "-", tag], stdin=tar.stdout)
    tar.wait()
    if imported.returncode != 0:
        raise SandboxError(f"docker import failed: {imported.stderr.strip()}. Is the Docker engine running?")
    return f"debootstrap root file system at {rootfs}"


def image_exists(tag: str) -> bool:
    return _run(["docker", "image", "inspect", tag]).returncode == 0
