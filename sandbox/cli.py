"""The `sandbox` commands: build the image, check a back end works."""

from __future__ import annotations

from typing import Annotated

import typer

from forge.cli import console, fail
from sandbox.limits import SandboxError

app = typer.Typer(help="The code sandbox: build its image, check it works.", no_args_is_help=True)


@app.command("build-image")
def build_image(
    tag: Annotated[str, typer.Option(help="Image tag the Docker back end uses.")] = "domainforge-sandbox:latest",
    offline: Annotated[bool, typer.Option(help="Skip the Dockerfile and build from a debootstrap root file system.")] = False,
    force: Annotated[bool, typer.Option(help="Rebuild even when the image and root file system are up to date.")] = False,
) -> None:
    """Build the sandbox image (python3, pytest and Go; user 1000): from sandbox/Dockerfile where a registry
    is reachable, otherwise offline from a debootstrap root file system (also used by bubblewrap).
    Does nothing when both were built with today's package list."""
    from sandbox.image import build_image as build

    try:
        how = build(tag, offline=offline, force=force)
    except SandboxError as exc:
        raise fail(str(exc)) from None
    console.print(f"built {tag} from {how}")


@app.command("check")
def check(backend: Annotated[str, typer.Option(help="docker or bwrap.")] = "docker") -> None:
    """Run one small task in the sandbox and show the result."""
    from sandbox import open_sandbox

    try:
        with open_sandbox(backend, size=1) as box:
            result = box.run({"check.py": "import sys, os\nprint(sys.version.split()[0], os.getuid())\n"},
                             ["python3", "check.py"])
    except SandboxError as exc:
        raise fail(str(exc)) from None
    console.print(f"{backend}: {result.describe()}", highlight=False)
