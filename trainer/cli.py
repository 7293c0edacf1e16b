"""The `export-gguf` command: a trained student out to llama.cpp."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Optional

import typer

from forge.cli import console, fail, input_errors

MODELS = Path(__file__).resolve().parents[1] / "models"


def export_gguf(
    workspace: Annotated[Path, typer.Argument(help="A workspace written by `run`.")],
    quant: Annotated[str, typer.Option(help="Quantization: f16, q8_0, q6_k, q5_k_m, q4_k_m, q4_0.")] = "q4_k_m",
    out: Annotated[Optional[Path], typer.Option(help="Output .gguf (default: models/<workspace>-<quant>.gguf).")] = None,
    deploy_dir: Annotated[Optional[Path], typer.Option(help="Also copy the file here (where llama.cpp / NornicDB read models).")] = None,
    student_dir: Annotated[Optional[Path], typer.Option(help="Export this student directory instead of the latest.")] = None,
) -> None:
    """Merge the latest trained student, convert it to GGUF with llama.cpp, quantize, and check it loads and generates."""
    from forge.workspace import Workspace
    from trainer.export import export_gguf as export

    students = Workspace(workspace.resolve()).students()
    chosen = student_dir or (students[-1] if students else None)
    if chosen is None:
        raise fail(f"no trained student under {workspace}/runs. Run `python loop.py run --workspace {workspace}` first.")
    target = out or MODELS / f"{workspace.resolve().name}-{quant}.gguf"
    with input_errors():
        result = export(chosen, target, quant)
    console.print(f"wrote {result.gguf} ({result.size_mib:.1f} MiB, {quant}) from {chosen}")
    console.print(f"smoke test: {result.smoke_prompt!r} -> {result.smoke_output!r}", highlight=False)
    if deploy_dir:
        deploy_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(result.gguf, deploy_dir / result.gguf.name)
        console.print(f"deployed to {deploy_dir / result.gguf.name}")
