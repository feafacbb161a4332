"""Our safe checkpoint format: one safetensors file, tensors plus the NetworkSpec as JSON.

safetensors stores raw tensors and a JSON header only, so reading a file can never run code,
and it loads in milliseconds (no unpickling of the whole NVIDIA snapshot).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from installation.errors import ModelLoadError

from .build import build_generator
from .spec import NetworkSpec, SpecError, check_spec

if TYPE_CHECKING:
    from .generator import Generator

FORMAT_NAME = "latent-walk-generator"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 100_000_000
MAX_TENSORS = 10_000  # a 1024 px StyleGAN2 has about 300


def is_checkpoint(path: str | os.PathLike) -> bool:
    """True if the file starts like a safetensors file (8-byte header length, then '{')."""
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return False
    size = int.from_bytes(head[:8], "little")
    return 0 < size < MAX_HEADER_BYTES and head[8:9] == b"{"


def save_generator(G: Generator, path: str | os.PathLike) -> Path:
    """Write G (float32 tensors + spec) to a safetensors file that load_generator reads back."""
    path = Path(path)
    tensors = {
        k: v.detach().to("cpu", torch.float32).contiguous() for k, v in G.state_dict().items()
    }
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "spec": G.spec.to_json(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    return path


def read_checkpoint(path: str | os.PathLike) -> tuple[NetworkSpec, dict[str, torch.Tensor]]:
    """Read (spec, tensors) from our checkpoint; ModelLoadError if it is not one of ours.

    The header is read first (safetensors checks that every tensor lies inside the file); the
    spec is range-checked before any tensor is read.
    """
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            names = list(f.keys())
            if len(names) > MAX_TENSORS:
                raise ModelLoadError(
                    f"{path}: {len(names)} tensors in the checkpoint (a generator has at most "
                    f"{MAX_TENSORS})"
                )
            spec = _spec(metadata, path)
            tensors = {name: f.get_tensor(name) for name in names}
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as exc:
        raise ModelLoadError(
            f"{path}: not a readable safetensors checkpoint ({str(exc)[:200]})"
        ) from None
    return spec, tensors


def _spec(metadata: dict[str, str], path: str | os.PathLike) -> NetworkSpec:
    """The NetworkSpec in a checkpoint's metadata, range-checked."""
    if metadata.get("format") != FORMAT_NAME:
        raise ModelLoadError(
            f"{path}: a safetensors file without our generator metadata "
            f"(format={str(metadata.get('format'))[:40]!r}); convert models with "
            "`latent-walk convert`"
        )
    version = str(metadata.get("format_version", "0"))
    if not version.isdigit() or len(version) > 6:
        raise ModelLoadError(f"{path}: checkpoint format version {version[:20]!r} is not a number")
    if int(version) > FORMAT_VERSION:
        raise ModelLoadError(
            f"{path}: checkpoint format version {version} is newer than this app supports "
            f"({FORMAT_VERSION})"
        )
    try:
        spec = NetworkSpec.from_json(metadata["spec"])
        check_spec(spec)
    except SpecError as exc:
        raise ModelLoadError(f"{path}: {exc}") from None
    except (ValueError, KeyError, RecursionError) as exc:
        raise ModelLoadError(
            f"{path}: damaged network spec in checkpoint ({str(exc)[:200]})"
        ) from None
    return spec


def load_checkpoint(path: str | os.PathLike) -> Generator:
    """Build a Generator from our checkpoint (names and shapes checked)."""
    spec, tensors = read_checkpoint(path)
    return build_generator(spec, tensors, source=str(path))
