"""load_generator: NVIDIA torch pickles, legacy TF pickles and our checkpoints -> Generator.

Nothing in a pickle is executed (pickle_reader.py reads it as data). Hyperparameters come from
each module's stored attributes (spec §1.7 step 3; nvidia_kwargs.py), then every tensor name and
shape is checked against the module we built from them (build.py).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import torch

from installation.errors import ModelLoadError

from . import checkpoint
from .build import build_generator
from .generator import Generator
from .nvidia_kwargs import spec_from_record, spec_from_tf_kwargs
from .pickle_reader import ModuleRecord, TFNetwork, read_generator_record
from .spec import NetworkSpec, Precision

log = logging.getLogger(__name__)


def load_generator(
    path: str | os.PathLike, device: str | torch.device = "cpu", precision: Precision = "exact"
) -> Generator:
    """Load a generator from an NVIDIA pickle (torch or TF) or our checkpoint, in eval mode.

    Args:
        path: `.pkl` snapshot / bare generator / TF `(G, D, Gs)` tuple, or our `.safetensors`.
        device: where the module lives.
        precision: 'exact' (float32, matches NVIDIA) or 'fast' (see Generator.set_precision).
    Raises:
        ModelLoadError: naming the file and what is wrong or unsupported.
    """
    path = Path(path)
    started = time.perf_counter()
    if path.is_dir():
        raise ModelLoadError(f"{path}: is a directory, not a model file")
    if not path.exists():
        raise ModelLoadError(f"{path}: no such file")
    if not path.is_file():
        raise ModelLoadError(f"{path}: not a regular file (a device or pipe?)")
    try:
        if checkpoint.is_checkpoint(path):
            G = checkpoint.load_checkpoint(path)
        else:
            spec, tensors = read_network(path)
            G = build_generator(spec, tensors, source=str(path))
    except _UNEXPECTED as exc:
        # every known problem is a ModelLoadError already; this keeps a surprise to one line
        log.debug("unexpected error loading %s", path, exc_info=True)
        raise ModelLoadError(
            f"{path}: cannot load this file ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    G.to(device).set_precision(precision)
    log.info(
        "model loaded path=%s arch=%s res=%d num_ws=%d in %.2f s",
        path, G.architecture, G.img_resolution, G.num_ws, time.perf_counter() - started,
    )  # fmt: skip
    return G


_UNEXPECTED = (
    ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError, OverflowError,
    MemoryError, RecursionError, OSError, UnicodeError, NotImplementedError,
)  # fmt: skip


def read_network(path: Path) -> tuple[NetworkSpec, dict[str, torch.Tensor]]:
    """Read a pickle into (spec, tensors by NVIDIA name) without building modules."""
    kind, record, where = read_generator_record(path)
    if kind == "tf":
        from .tf_convert import convert_tf_generator

        assert isinstance(record, TFNetwork)
        kwargs, tensors = convert_tf_generator(record, str(path))
        spec = spec_from_tf_kwargs(kwargs, path)
        return spec, tensors
    assert isinstance(record, ModuleRecord)
    spec = spec_from_record(record, path, where)
    return spec, record.named_tensors()
