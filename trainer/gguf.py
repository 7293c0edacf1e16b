"""Hugging Face model directory -> GGUF, with llama.cpp's own converter.

The converter must match the llama.cpp that will load the file, so it comes
from the source archive of the installed llama-cpp-python (fetched once with
pip and cached), or from a llama.cpp checkout named by LLAMA_CPP_DIR.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

from forge.errors import InputError
from forge.workspace import cache_root

CACHE = cache_root()
NEEDED = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/")


def llama_cpp_source() -> Path:
    """A directory holding convert_hf_to_gguf.py and the gguf-py it imports."""
    if os.environ.get("LLAMA_CPP_DIR"):
        root = Path(os.environ["LLAMA_CPP_DIR"]).expanduser()
        if not (root / "convert_hf_to_gguf.py").is_file():
            raise InputError(f"LLAMA_CPP_DIR={root} has no convert_hf_to_gguf.py; point it at a llama.cpp checkout.")
        return root
    installed = version("llama-cpp-python")
    root = CACHE / f"llama.cpp-{installed}"
    if (root / "convert_hf_to_gguf.py").is_file():
        return root
    with tempfile.TemporaryDirectory() as tmp:
        fetch = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                                f"llama-cpp-python=={installed}", "-d", tmp], capture_output=True, text=True)
        archives = list(Path(tmp).glob("*.tar.gz"))
        if fetch.returncode != 0 or not archives:
            raise InputError(f"could not fetch the llama-cpp-python {installed} source archive for its GGUF converter:\n"
                             f"{fetch.stderr.strip()[-2000:]}\nSet LLAMA_CPP_DIR to a llama.cpp checkout instead.")
        partial = root.with_name(root.name + ".partial")
        with tarfile.open(archives[0]) as archive:
            prefix = f"{archive.getnames()[0].split('/')[0]}/vendor/llama.cpp/"
            members = [m for m in archive.getmembers() if m.name.startswith(prefix)
                       and m.name[len(prefix):].startswith(NEEDED)]
            for member in members:
                member.name = member.name[len(prefix):]
            archive.extractall(partial, members=members, filter="data")
        partial.replace(root)  # atomic: a half-extracted copy is never used
    return root


def convert_to_gguf(model_dir: str | Path, out_path: str | Path, outtype: str = "f16") -> Path:
    """Run convert_hf_to_gguf.py; outtype is one of f32, f16, bf16, q8_0."""
    source = llama_cpp_source()
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([sys.executable, str(source / "convert_hf_to_gguf.py"), str(model_dir), "--outfile", str(out),
                             "--outtype", outtype], capture_output=True, text=True)
    if result.returncode != 0 or not out.is_file():
        raise RuntimeError(f"convert_hf_to_gguf.py failed on {model_dir} (exit {result.returncode}):\n{result.stderr[-3000:]}")
    return out
