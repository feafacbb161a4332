"""Our safe checkpoint format: one safetensors file, tensors plus the NetworkSpec as JSON.

safetensors stores raw tensors and a JSON header only, so reading a file can never run code,
and it loads in milliseconds (no unpickling of the whole NVIDIA snapshot).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from installation.errors import ModelLoadError

from .spec import NetworkSpec

if TYPE_CHECKING:
    from .generator import Generator

FORMAT_NAME = "latent-walk-generator"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 100_000_000


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
    """Read (spec, tensors) from our checkpoint; ModelLoadError if it is not one of ours."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelLoadError(f"{path}: not a readable safetensors checkpoint ({exc})") from exc
    if metadata.get("format") != FORMAT_NAME:
        raise ModelLoadError(
            f"{path}: a safetensors file without our generator metadata "
            f"(format={metadata.get('format')!r}); convert models with `latent-walk convert`"
        )
    if int(metadata.get("format_version", "0")) > FORMAT_VERSION:
        raise ModelLoadError(
            f"{path}: checkpoint format version {metadata['format_version']} is newer than this "
            f"app supports ({FORMAT_VERSION})"
        )
    try:
        spec = NetworkSpec.from_json(metadata["spec"])
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path}: damaged network spec in checkpoint ({exc})") from exc
    return spec, tensors


def load_checkpoint(path: str | os.PathLike) -> Generator:
    """Build a Generator from our checkpoint (names and shapes checked)."""
    from .load import build_generator

    spec, tensors = read_checkpoint(path)
    return build_generator(spec, tensors, source=str(path))
