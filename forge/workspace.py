"""A workspace directory holds one project's runs, and this module is the one
place that knows where everything in it lives:

    examples.sqlite           the example store (every slot, accepted or rejected), unless the
                              workspace uses a shared PostgreSQL store (`--store postgresql://...`)
    teacher_cache.sqlite      LLM teacher replies, so a rerun costs nothing
    cycle_checkpoints.sqlite  the improvement cycle's LangGraph checkpoints
    exports/                  `export` output
    imports/                  conversations brought in by `chat import`, cleaned, and their reports
    evals/                    the rows of --eval files that were skipped (their reference fails), with why
    runs/<run id>/            one improvement cycle (see RunFolder)

What every workspace shares (the shipped models, the sandbox image, repository
indexes and check outcomes, the grader's replies) lives in the per-user cache,
`cache_root()`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from forge.errors import InputError, masked
from forge.store import Store, is_store_uri, open_store


def cache_root() -> Path:
    """$DOMAINFORGE_CACHE, or ~/.cache/domainforge."""
    return Path(os.environ.get("DOMAINFORGE_CACHE") or Path.home() / ".cache" / "domainforge")


@dataclass(frozen=True)
class Workspace:
    root: Path
    store: str = field(default="", repr=False)  # it may hold a password
    """A postgresql:// URI of a shared store; empty: the workspace's own SQLite file."""

    @property
    def store_path(self) -> Path:
        return self.root / "examples.sqlite"

    @property
    def cache_path(self) -> Path:
        return self.root / "teacher_cache.sqlite"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def imports(self) -> Path:
        return self.root / "imports"

    @property
    def evals(self) -> Path:
        return self.root / "evals"

    @property
    def cycle_checkpoints_path(self) -> Path:
        return self.root / "cycle_checkpoints.sqlite"

    def run(self, run_id: str) -> RunFolder:
        return RunFolder(self.root / "runs" / run_id)

    def students(self) -> list[Path]:
        """Every trained student in every run, oldest first."""
        found = [p.parent for pattern in ("config.json", "adapter_config.json")
                 for p in (self.root / "runs").glob(f"*/round_*/student/{pattern}")]
        return sorted(found, key=lambda p: p.stat().st_mtime)

    @staticmethod
    def _store(store: str | None) -> str:
        if store and not is_store_uri(store):
            raise InputError(f"--store {masked(store)!r} is not a store URI: give postgresql://USER@HOST:PORT/DATABASE "
                             "(or leave it out for the workspace's own SQLite file)")
        return store or ""

    @classmethod
    def check(cls, path: str | Path, store: str | None = None) -> Workspace:
        """Fail early, writing nothing, if the path cannot become a workspace or the store cannot open."""
        store = cls._store(store)
        if store:
            open_store(store).close()
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
        return cls(root, store)

    @classmethod
    def existing(cls, path: str | Path, store: str | None = None) -> Workspace:
        store = cls._store(store)
        root = Path(path).expanduser().resolve()
        if store:
            return cls(root, store)
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

    def open_store(self) -> Store:
        return open_store(self.store or self.store_path)


@dataclass(frozen=True)
class RunFolder:
    """One improvement cycle's files:

        heldout.sqlite, heldout_feedback.jsonl, heldout_test.jsonl   evaluation items
        tiny_base/                 the untrained `tiny` student, built for this run
        round_<n>/                 accepted.jsonl, train.jsonl, validation.jsonl, eval_<split>.jsonl,
                                   and the trainer's output: checkpoints/, student/, train_result.json
        report.md, score_by_round.png, score_by_category.png
    """

    root: Path

    @property
    def heldout_store(self) -> Path:
        return self.root / "heldout.sqlite"

    def heldout(self, split: str) -> Path:
        return self.root / f"heldout_{split}.jsonl"

    @property
    def tiny_base(self) -> Path:
        return self.root / "tiny_base"

    def round(self, n: int) -> Path:
        """A round's folder (created); the trainer writes into it too."""
        path = self.root / f"round_{n}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def accepted(self, n: int) -> Path:
        return self.round(n) / "accepted.jsonl"

    def rows(self, n: int, split: str) -> Path:
        """Curated rows: split is train or validation."""
        return self.round(n) / f"{split}.jsonl"

    def evaluation(self, n: int, split: str) -> Path:
        """Per-item scores of round n's student on a held-out split (round 0: untrained)."""
        return self.round(n) / f"eval_{split}.jsonl"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def plots(self) -> tuple[Path, Path]:
        return self.root / "score_by_round.png", self.root / "score_by_category.png"

    def files(self, store: Path, student: str) -> dict[str, str]:
        """What the report lists under Files."""
        return {"example store": str(store), "student": student, "held-out items": str(self.root / "heldout_*.jsonl"),
                "per-item evaluation": str(self.root / "round_*/eval_*.jsonl"),
                "training data": str(self.root / "round_*/train.jsonl")}
