"""bias_act: reference against explicit numpy formulas; fast path against the reference."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch

import kernels

ba = importlib.import_module("kernels.bias_act")

NUMPY_ACTS = {
    "linear": lambda x, a: x,
    "relu": lambda x, a: np.maximum(x, 0),
    "lrelu": lambda x, a: np.where(x >= 0, x, x * a),
    "tanh": lambda x, a: np.tanh(x),
    "sigmoid": lambda x, a: 1 / (1 + np.exp(-x)),
    "elu": lambda x, a: np.where(x >= 0, x, np.exp(x) - 1),
    "selu": lambda x, a: 1.0507009873554805 * np.where(x >= 0, x, 1.6732632423543772 * np.expm1(x)),
    "softplus": lambda x, a: np.log1p(np.exp(x)),
    "swish": lambda x, a: x / (1 + np.exp(-x)),
}
DEFAULT_GAIN = {"relu": math.sqrt(2), "lrelu": math.sqrt(2), "swish": math.sqrt(2)}


def _naive(x, b, dim, act, alpha, gain, clamp):
    x = x.numpy().astype(np.float64)
    if b is not None:
        shape = [1] * x.ndim
        shape[dim] = -1
        x = x + b.numpy().reshape(shape)
    x = NUMPY_ACTS[act](x, 0.2 if alpha is None else alpha)
    x = x * (DEFAULT_GAIN.get(act, 1.0) if gain is None else gain)
    return x if clamp is None else np.clip(x, -clamp, clamp)


@pytest.mark.parametrize("act", list(NUMPY_ACTS))
@pytest.mark.parametrize("impl", ["reference", "torch"])
def test_bias_act_matches_numpy_with_defaults(act, impl):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 3, 4, generator=g, dtype=torch.float64) * 3
    b = torch.randn(5, generator=g, dtype=torch.float64)
    with kernels.use_backend(impl):
        got = kernels.bias_act(x, b, act=act)
    np.testing.assert_allclose(got.numpy(), _naive(x, b, 1, act, None, None, None), rtol=1e-12)


@pytest.mark.parametrize("impl", ["reference", "torch"])
@pytest.mark.parametrize(
    "dim,act,alpha,gain,clamp",
    [
        (1, "lrelu", 0.1, 2.0, 1.5),
        (2, "lrelu", None, None, 0.5),
        (3, "linear", None, 3.0, 2.0),
        (0, "relu", None, 1.0, None),
        (1, "tanh", None, 2.0, 0.7),
        (-1, "swish", None, None, 1.0),
    ],
)
def test_bias_act_dim_alpha_gain_clamp(impl, dim, act, alpha, gain, clamp):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 4, 5, generator=g, dtype=torch.float64) * 2
    b = torch.randn(x.shape[dim], generator=g, dtype=torch.float64)
    with kernels.use_backend(impl):
        got = kernels.bias_act(x, b, dim=dim, act=act, alpha=alpha, gain=gain, clamp=clamp)
    want = _naive(x, b, dim % 4, act, alpha, gain, clamp)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("act", list(NUMPY_ACTS))
def test_fast_matches_reference_without_bias_and_does_not_modify_input(act):
    x = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(2))
    saved = x.clone()
    want = ba._reference(x, None, 1, act, 0.2, 1.5, 1.0)
    got = ba._fast(x, None, 1, act, 0.2, 1.5, 1.0)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(x, saved, rtol=0, atol=0)


def test_bias_act_bfloat16():
    x = torch.randn(2, 8, 4, 4).bfloat16()
    b = torch.randn(8)
    got = kernels.bias_act(x, b, act="lrelu", clamp=256)
    assert got.dtype == torch.bfloat16
    want = _naive(x.double(), b.bfloat16().double(), 1, "lrelu", None, None, 256)
    np.testing.assert_allclose(got.double().numpy(), want, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"act": "gelu"}, "act must be one of"),
        ({"b": torch.zeros(3)}, "b has 3 entries"),
        ({"b": torch.zeros(4, 1)}, "1D tensor"),
        ({"b": torch.zeros(4), "dim": 5}, "dim 5 out of range"),
        ({"clamp": -1.0}, "clamp must be None or >= 0"),
        ({"x": torch.zeros(2, 4, dtype=torch.int32)}, "floating-point"),
    ],
)
def test_bias_act_argument_errors(kwargs, match):
    args = {"x": torch.zeros(2, 4, 3)} | kwargs
    with pytest.raises(ValueError, match=match):
        kernels.bias_act(**args)
