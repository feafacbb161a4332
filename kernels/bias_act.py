"""bias_act: add a bias, apply an activation, scale and clamp (spec 4.2).

- `_reference`: the definition, one plain PyTorch op per step (x + b, act, * gain, clamp).
- `_fast`: the "torch" backend, the same math with in-place ops on one temporary.
- `_cuda`: csrc/bias_act.cu through kernels/_compile.py (float32/float16).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from kernels import _compile, backend
from kernels._compile import CUDA_BLOCK, CUDA_MAX_BLOCKS, cuda_grid  # noqa: F401 (re-exported for tests)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Activation:
    """Default alpha and gain of an activation (spec 4.2 table)."""

    def_alpha: float
    def_gain: float


ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation(0.0, 1.0),
    "relu": Activation(0.0, math.sqrt(2)),
    "lrelu": Activation(0.2, math.sqrt(2)),
    "tanh": Activation(0.0, 1.0),
    "sigmoid": Activation(0.0, 1.0),
    "elu": Activation(0.0, 1.0),
    "selu": Activation(0.0, 1.0),
    "softplus": Activation(0.0, 1.0),
    "swish": Activation(0.0, math.sqrt(2)),
}


def bias_act(
    x: torch.Tensor,
    b: torch.Tensor | None = None,
    dim: int = 1,
    act: str = "linear",
    alpha: float | None = None,
    gain: float | None = None,
    clamp: float | None = None,
) -> torch.Tensor:
    """x + b (broadcast along dim), then act (alpha), times gain, clamped to [-clamp, clamp].

    alpha and gain default per activation (spec 4.2); clamp None disables clamping. Backend
    "reference" runs one op per step, "torch" fuses them in place, "cuda" runs csrc/bias_act.cu for
    fp32/fp16 CUDA tensors (other dtypes and CPU tensors: "torch").
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"x must be a floating-point torch.Tensor, got {_describe(x)}")
    if act not in ACTIVATIONS:
        raise ValueError(f"act must be one of {', '.join(ACTIVATIONS)}; got {act!r}")
    if b is not None:
        if not isinstance(b, torch.Tensor) or b.ndim != 1:
            raise ValueError(f"b must be None or a 1D tensor, got {_describe(b)}")
        if not -x.ndim <= dim < x.ndim:
            raise ValueError(f"dim {dim} out of range for x with {x.ndim} dims")
        if b.shape[0] != x.shape[dim]:
            raise ValueError(f"b has {b.shape[0]} entries but x has {x.shape[dim]} along dim {dim}")
    if clamp is not None and not clamp >= 0:
        raise ValueError(f"clamp must be None or >= 0, got {clamp!r}")
    spec = ACTIVATIONS[act]
    alpha = spec.def_alpha if alpha is None else float(alpha)
    gain = spec.def_gain if gain is None else float(gain)
    clamp = None if clamp is None else float(clamp)
    name = backend.current()
    if name == "reference":
        return _reference(x, b, dim, act, alpha, gain, clamp)
    if name == "cuda" and x.is_cuda:
        return _cuda(x, b, dim, act, alpha, gain, clamp)
    return _fast(x, b, dim, act, alpha, gain, clamp)


def _describe(v: object) -> str:
    if isinstance(v, torch.Tensor):
        return f"tensor of shape {tuple(v.shape)} and dtype {v.dtype}"
    return type(v).__name__


def _bias_shape(x: torch.Tensor, dim: int) -> list[int]:
    shape = [1] * x.ndim
    shape[dim] = -1
    return shape


def _activate(x: torch.Tensor, act: str, alpha: float) -> torch.Tensor:
    """The activation functions of spec 4.2 (not in place)."""
    if act == "linear":
        return x
    if act == "relu":
        return F.relu(x)
    if act == "lrelu":
        return F.leaky_relu(x, alpha)
    if act == "tanh":
        return torch.tanh(x)
    if act == "sigmoid":
        return torch.sigmoid(x)
    if act == "elu":
        return F.elu(x)
    if act == "selu":
        return F.selu(x)
    if act == "softplus":
        return F.softplus(x)
    return torch.sigmoid(x) * x  # swish


def _reference(x, b, dim: int, act: str, alpha: float, gain: float, clamp: float | None):
    """Literal spec 4.2: x + b, act, * gain (if != 1), clamp (if given)."""
    if b is not None:
        x = x + b.to(x.dtype).reshape(_bias_shape(x, dim))
    x = _activate(x, act, alpha)
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def _fast(x, b, dim: int, act: str, alpha: float, gain: float, clamp: float | None):
    """Same math as `_reference` with in-place ops on a single temporary."""
    if b is not None:
        y = x + b.to(x.dtype).reshape(_bias_shape(x, dim))
    elif act in ("linear", "relu", "lrelu") and (gain != 1 or clamp is not None):
        y = x.clone()
    else:
        y = x
    if act == "relu":
        y = F.relu_(y) if y is not x else F.relu(y)
    elif act == "lrelu":
        y = F.leaky_relu_(y, alpha) if y is not x else F.leaky_relu(y, alpha)
    elif act != "linear":
        y = _activate(y, act, alpha)
    if gain != 1:
        y = y.mul_(gain) if y is not x else y * gain
    if clamp is not None:
        y = y.clamp_(-clamp, clamp) if y is not x else y.clamp(-clamp, clamp)
    return y


# Activation codes of csrc/bias_act.cu (kernels/csrc/README.md)
ACT_CODES = {name: code for code, name in enumerate(ACTIVATIONS)}


def _cuda(x, b, dim, act, alpha, gain, clamp) -> torch.Tensor:
    """CUDA backend: csrc/bias_act.cu for float32/float16 (other dtypes: the torch path).

    Dense NCHW-contiguous or channels-last tensors go as they are (bias index from `inner`);
    anything else is made contiguous first. The result keeps x's memory format.
    """
    if x.dtype not in (torch.float32, torch.float16) or x.numel() == 0:
        return _fast(x, b, dim, act, alpha, gain, clamp)
    name, args, y = cuda_launch_args(x, b, dim, act, alpha, gain, clamp)
    _compile.loaded().launch(
        name, cuda_grid(y.numel()), (CUDA_BLOCK,), args,
        torch.cuda.current_stream(x.device).cuda_stream,
    )  # fmt: skip
    return y


def cuda_launch_args(x, b, dim, act, alpha, gain, clamp) -> tuple[str, list, torch.Tensor]:
    """(entry point, its arguments in csrc/README.md order, the output it fills) for `_cuda`.

    x must be float32/float16 and non-empty. Works on any device (the CPU emulation in
    tests/cuda_emu runs the same arguments); y is allocated here, uninitialised, in x's format.
    """
    if x.dtype not in (torch.float32, torch.float16) or x.numel() == 0:
        raise ValueError(f"bias_act kernel takes non-empty float32/float16, got {_describe(x)}")
    dim = dim % x.ndim
    is_channels_last = (
        x.ndim == 4 and dim == 1 and not x.is_contiguous()
        and x.is_contiguous(memory_format=torch.channels_last)
    )  # fmt: skip
    if not is_channels_last:
        x = x.contiguous()
    inner = 1 if is_channels_last else math.prod(x.shape[dim + 1 :])
    channels = x.shape[dim]
    y = torch.empty_like(x)  # same memory format
    bias = None if b is None else b.to(device=x.device, dtype=x.dtype).contiguous()
    suffix = "f32" if x.dtype == torch.float32 else "f16"
    args = [x, bias, y, np.int64(x.numel()), np.int32(channels), np.int64(inner),
            np.int32(ACT_CODES[act]), np.float32(alpha), np.float32(gain),
            np.float32(-1.0 if clamp is None else clamp)]  # fmt: skip
    return f"bias_act_{suffix}", args, y
