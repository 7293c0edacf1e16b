"""A workspace directory holds one project's runs: the example store, the
teacher response cache, exports and (later) models and reports."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from forge.errors import InputError
from forge.store import SQLiteStore


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def store_path(self) -> Path:
        return self.root / "examples.sqlite"

    @property
    def cache_path(self) -> Path:
        return self.root / "teacher_cache.sqlite"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @classmethod
    def check(cls, path: str | Path) -> Workspace:
        """Fail early, writing nothing, if the path cannot become a workspace."""
        root = Path(path).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise InputError(f"workspace {root} is a file, not a directory. Pass --workspace a directory path.")
        existing = root
        while not existing.exists():
            existing = existing.parent
        # A real probe: as root os.access says yes even on read-only mounts.
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as exc:
            raise InputError(f"workspace {root} cannot be written ({existing}: {exc.strerror or exc}). "
                             "Choose a directory you can write, e.g. --workspace ./workspace") from exc
        return cls(root)

    @classmethod
    def existing(cls, path: str | Path) -> Workspace:
        root = Path(path).expanduser().resolve()
        if not (root / "examples.sqlite").is_file():
            raise InputError(f"{root} is not a workspace (no examples.sqlite). Run `python loop.py generate "
                             f"--workspace {path} ...` first.")
        return cls(root)

    def create(self) -> Workspace:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create workspace {self.root}: {exc.strerror or exc}. Choose another --workspace.") from exc
        return self

    def open_store(self) -> SQLiteStore:
        return SQLiteStore(self.store_path)
