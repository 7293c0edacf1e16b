"""A throwaway PostgreSQL server for the tests: Debian's `postgresql` binaries,
`initdb` into a temporary folder as an unprivileged user (PostgreSQL refuses to
run as root), `pg_ctl start` on a free loopback port, password authentication
over TCP. Each test gets a database of its own."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

USER, PASSWORD = "domainforge", "s3cret-test-pw"


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl: Debian keeps them out of PATH, per major version."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="domainforge-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        # As root, the cluster belongs to the `postgres` system user the package creates.
        self.owner = "postgres" if os.getuid() == 0 else None
        if self.owner:
            account = pwd.getpwnam(self.owner)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        password_file = self.root / "pw"
        password_file.write_text(PASSWORD)
        if self.owner:
            os.chown(password_file, pwd.getpwnam(self.owner).pw_uid, -1)
        self._as_owner([str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, f"--pwfile={password_file}",
                        "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-sync"])
        self.start()

    def start(self) -> None:
        self._as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "start",
                        "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"])

    def halt(self) -> None:
        """Stop the server as a crash would (its files stay: `start` brings it back)."""
        self._as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])

    def _as_owner(self, command: list[str]) -> None:
        if self.owner:
            command = ["runuser", "-u", self.owner, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def uri(self, database: str = "postgres", password: bool = True) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.uri(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.uri(name)

    def stop(self) -> None:
        try:
            self.halt()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
