"""Accepted examples out of the store: JSONL, Parquet, or a `datasets.Dataset`.

Each row is flat: id, domain, category, format, the payload's fields
(instruction/input/output or messages) and the domain metadata
(e.g. `rule_reference`), the shape the seed's trainers read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from forge.records import Example


def example_row(example: Example) -> dict[str, Any]:
    return {"id": example.id, "domain": example.domain, "category": example.category, "format": example.format,
            **example.payload, **example.metadata}


def to_dataset(examples: Iterable[Example]):
    import datasets

    return datasets.Dataset.from_list([example_row(e) for e in examples])


def replace_atomically(path: Path, write) -> None:
    """Write through a `.partial` file, then rename it over `path`: a crash leaves the old file or the new."""
    tmp = path.with_name(path.name + ".partial")
    write(tmp)
    os.replace(tmp, path)


def export_jsonl(examples: Iterable[Example], path: Path) -> int:
    rows = [example_row(e) for e in examples]

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")

    replace_atomically(path, write)
    return len(rows)


def export_parquet(examples: Iterable[Example], path: Path) -> int:
    dataset = to_dataset(examples)
    replace_atomically(path, lambda tmp: dataset.to_parquet(str(tmp)))
    return len(dataset)
