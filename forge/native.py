"""Room for the native libraries DomainForge loads side by side.

kglite's extension takes about 1.5 KB of glibc's static TLS surplus, libgomp
(loaded by torch, sentencepiece and ggml) needs some too, and glibc's default
surplus cannot hold them all: whichever loads last fails with "cannot allocate
memory in static TLS block". The surplus can only be raised before a process
starts, so entry points call `ensure_static_tls_room()` first, which re-executes
the same command once with a larger surplus.
"""

from __future__ import annotations

import os
import sys

TUNABLE = "glibc.rtld.optional_static_tls"
ROOM_BYTES = 16384


def ensure_static_tls_room() -> None:
    if not sys.platform.startswith("linux"):
        return
    current = os.environ.get("GLIBC_TUNABLES", "")
    if TUNABLE in current:
        return
    setting = f"{TUNABLE}={ROOM_BYTES}"
    env = {**os.environ, "GLIBC_TUNABLES": f"{current}:{setting}" if current else setting}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
