"""build_generator: a NetworkSpec and NVIDIA-named tensors -> our Generator, every name and
shape checked (used for NVIDIA pickles by load.py and for our checkpoints by checkpoint.py).
"""

from __future__ import annotations

import torch

from installation.errors import ModelLoadError

from .generator import Generator
from .nvidia_kwargs import SUPPORTED
from .spec import NetworkSpec, SpecError, check_spec


def build_generator(spec: NetworkSpec, tensors: dict[str, torch.Tensor], source: str) -> Generator:
    """Build our module from a spec and copy the tensors in, checking every name and shape.

    The hyperparameters are range-checked first and the shapes are compared on a module built
    on the meta device (no memory), so a file allocates only after it has passed both checks.
    """
    try:
        check_spec(spec)
    except SpecError as exc:
        raise ModelLoadError(f"{source}: {exc}") from None
    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in Generator(spec).state_dict().items()}
    missing = [k for k in shapes if k not in tensors and not _is_rebuilt_filter(k)]
    unexpected = [k for k in tensors if k not in shapes]
    if unexpected:
        raise ModelLoadError(
            f"{source}: unknown parameters {_few(unexpected)} for {spec.architecture} "
            f"(a fork with extra layers? supported: {SUPPORTED})"
        )
    if missing:
        raise ModelLoadError(
            f"{source}: missing parameters {_few(missing)} for {spec.architecture}"
        )
    for name, value in tensors.items():
        if shapes[name] != tuple(value.shape):
            raise ModelLoadError(
                f"{source}: parameter {name}: expected shape {list(shapes[name])} from the "
                f"network's hyperparameters, found {list(value.shape)}"
            )
    G = Generator(spec)
    own = G.state_dict()
    with torch.no_grad():
        for name, value in tensors.items():
            own[name].copy_(value.to(torch.float32))
    return G


def _is_rebuilt_filter(name: str) -> bool:
    # TF pickles carry no resample filters; our modules build the fixed [1,3,3,1] filter (spec §2.3)
    return name.endswith("resample_filter")


def _few(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(n[:80] for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
