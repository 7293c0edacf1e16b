"""Which sandbox back ends a test may use. Outside CI a missing back end skips;
with CI set it fails, because a skipped sandbox test hides a broken sandbox."""

from __future__ import annotations

import os

import pytest

from sandbox import SandboxError, open_sandbox
from sandbox.limits import Limits

IN_CI = bool(os.environ.get("CI"))


def open_or_skip(backend: str, limits: Limits = Limits(), size: int = 1):
    try:
        return open_sandbox(backend, size=size, limits=limits)
    except SandboxError as exc:
        if IN_CI:
            pytest.fail(f"{backend} sandbox unavailable in CI: {exc}")
        pytest.skip(f"{backend} sandbox unavailable: {exc}")
