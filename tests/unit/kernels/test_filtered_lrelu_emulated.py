"""csrc/filtered_lrelu.cu run on the CPU (tests/cuda_emu) against `_reference` in float64.

The kernel is launched with exactly what the CUDA launcher would pass (`cuda_launch_args`,
`_cuda_plan`), so the argument order, the filter preparation and the shared-memory size are
checked too: the emulator fails a launch that reads or writes past its dynamic shared memory or
reaches __syncthreads divergently. Outputs start as NaN, so an element never written fails.
Thresholds (relative to the output's largest magnitude): float32 1e-5, float16 2e-3 (one fp16
rounding of the result is up to ~5e-4). Skips without a host C++ compiler.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from pathlib import Path

import pytest
import torch
from cuda_emu import harness

flr = importlib.import_module("kernels.filtered_lrelu")

CU_PATH = Path(__file__).resolve().parents[3] / "kernels" / "csrc" / "filtered_lrelu.cu"
TOLERANCE = {torch.float32: 1e-5, torch.float16: 2e-3}
SQRT2 = math.sqrt(2)

pytestmark = pytest.mark.skipif(
    harness.compiler() is None, reason="no host C++ compiler: CUDA emulation not built"
)


@pytest.fixture(scope="module")
def emu():
    return harness.build(CU_PATH)


GUARD = 64  # NaN elements before and after every array the kernel sees


def guarded(t):
    """A copy of t inside a NaN-filled buffer: (buffer, the copy). None stays None.

    An out-of-bounds read then brings a NaN into the output; an out-of-bounds write changes a
    guard (the emulator does not bounds-check global memory).
    """
    if t is None:
        return None, None
    buffer = torch.full((t.numel() + 2 * GUARD,), float("nan"), dtype=t.dtype)
    view = buffer[GUARD : GUARD + t.numel()].view(t.shape)
    view.copy_(t)
    return buffer, view


def run_kernel(emu, args, grid=None):
    """Launch the kernel on the CPU as `_cuda` would (optionally with another grid); return y.

    All pointer arguments sit between NaN guards; the output starts as NaN.
    """
    x, fu, fd, _b, up, down, pad = args[:7]
    plan = flr._cuda_plan(x, fu, fd, up, down, pad)
    assert plan is not None, "the kernel should take this shape"
    assert plan.shared_bytes <= flr.CUDA_SHARED_LIMIT_BYTES
    name, kernel_args, _ = flr.cuda_launch_args(*args)
    kernel_args = list(kernel_args)
    buffers = []
    for i in range(5):  # x, b, y, fu, fd
        buffer, kernel_args[i] = guarded(kernel_args[i])
        buffers.append(buffer)
    y_out = kernel_args[2]
    y_out.fill_(float("nan"))
    emu.launch(name, grid or plan.grid, flr.CUDA_BLOCK, plan.shared_bytes, *kernel_args)
    y_buffer = buffers[2]
    assert y_buffer[:GUARD].isnan().all() and y_buffer[-GUARD:].isnan().all(), "write outside y"
    return y_out.clone()


def reference64(args):
    """`_reference` in float64 on the same (dtype-rounded) input and bias."""
    x, fu, fd, b = args[:4]
    b = None if b is None else b.to(x.dtype)
    as64 = [None if t is None else t.double() for t in (x, fu, fd, b)]
    return flr._reference(*as64, *args[4:])


def relative_error(got, want) -> float:
    scale = want.abs().max().clamp_min(1e-6)
    return float((got.double() - want).abs().max() / scale)


def make_args(
    size, fu_shape, fd_shape, up, down, pad, *, dtype=torch.float32, has_bias=True,
    gain=SQRT2, slope=0.2, clamp=None, flip=False, n=1, c=3, seed=0,
):  # fmt: skip
    g = torch.Generator().manual_seed(seed)
    h, w = size
    x = (torch.randn(n, c, h, w, generator=g) * 2).to(dtype)
    fu = None if fu_shape is None else torch.randn(fu_shape, generator=g)
    fd = None if fd_shape is None else torch.randn(fd_shape, generator=g)
    b = torch.randn(c, generator=g) if has_bias else None
    return (x, fu, fd, b, up, down, pad, gain, slope, clamp, flip)


# spec 3.6 layer patterns: (in size, fu, fd, up, down, padding)
SG3_CASES = [
    ((14, 15), (12,), (12,), (2, 2), (2, 2), (9, 8, 9, 8)),  # T, same rate
    ((16, 15), (24,), (12,), (4, 4), (2, 2), (-6, -9, -6, -9)),  # T, rate doubles
    ((24, 24), (12,), (12,), (2, 2), (2, 2), (-11, -12, -11, -12)),  # T, penultimate
    ((10, 12), (12,), (12, 12), (2, 2), (2, 2), (11, 10, 11, 10)),  # R, radial fd
    ((14, 13), (24,), (12, 12), (4, 4), (2, 2), (-2, -5, -2, -5)),  # R, radial, rate doubles
    ((22, 21), (12,), (12,), (2, 2), (2, 2), (-9, -10, -9, -10)),  # R, penultimate
    ((9, 13), None, None, (1, 1), (1, 1), (0, 0, 0, 0)),  # ToRGB: bias + clamp only
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("case", SG3_CASES, ids=lambda c: f"{c[1]}-{c[2]}-up{c[3][0]}-{c[5]}")
def test_sg3_layers_match_the_reference(emu, case, dtype):
    size, fu_shape, fd_shape, up, down, pad = case
    is_torgb = fu_shape is None
    gain, slope = (1.0, 1.0) if is_torgb else (SQRT2, 0.2)
    args = make_args(size, fu_shape, fd_shape, up, down, pad, dtype=dtype, gain=gain,
                     slope=slope, clamp=4.0, n=2, c=2)  # fmt: skip
    got = run_kernel(emu, args)
    want = reference64(args)
    assert got.shape == want.shape and got.dtype == dtype
    assert torch.isfinite(got).all(), "an output element was never written"
    assert relative_error(got, want) < TOLERANCE[dtype]


# (in size, fu, fd, up, down, padding, options): flip, gain (negative, zero), clamp (None, 0),
# no bias, anisotropic scaling with a crop, a 2-D fu, 1-D fd with up 1
OPTION_CASES = [
    ((13, 17), (12,), (12,), (2, 2), (2, 2), (9, 8, 9, 8), {"flip": True}),
    ((13, 17), (12,), (12, 12), (2, 2), (2, 2), (11, 10, 11, 10), {"gain": -1.3, "flip": True}),
    ((11, 9), (12,), (12,), (2, 2), (2, 2), (9, 8, 9, 8), {"gain": 0.0}),
    ((15, 14), (24,), (12,), (4, 4), (2, 2), (-6, -9, -6, -9), {"clamp": 0.0}),
    ((15, 14), (24,), (12,), (4, 4), (2, 2), (-6, -9, -6, -9), {"clamp": 0.5, "slope": -0.5}),
    ((13, 17), (6,), (4,), (2, 1), (1, 2), (3, -1, 0, 2), {"has_bias": False}),
    ((13, 17), (6, 5), (3, 4), (1, 2), (2, 1), (1, 2, -2, 3), {"flip": True}),
    ((13, 17), (3,), (5, 5), (1, 1), (2, 2), (1, 2, 3, 0), {}),
    ((16, 16), (4, 4), None, (4, 4), (1, 1), (2, 1, 2, 1), {"has_bias": False}),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("case", OPTION_CASES, ids=lambda c: f"{c[3]}-{c[4]}-{c[6]}")
def test_options_match_the_reference(emu, case, dtype):
    size, fu_shape, fd_shape, up, down, pad, options = case
    args = make_args(size, fu_shape, fd_shape, up, down, pad, dtype=dtype, **options)
    got = run_kernel(emu, args)
    want = reference64(args)
    assert got.shape == want.shape
    assert torch.isfinite(got).all(), "an output element was never written"
    if options.get("gain") == 0.0 or options.get("clamp") == 0.0:
        assert not got.any()
    else:
        assert relative_error(got, want) < TOLERANCE[dtype]


@pytest.mark.parametrize(("tiles", "grid_z"), [(((8, 4),), None), (((4, 4),), 1), (((8, 8),), 2)])
def test_many_tiles_and_the_plane_loop(emu, tiles, grid_z, monkeypatch):
    # small tiles: many tiles per plane, tile edges inside the image; a grid smaller than the
    # number of planes: each block loops over planes by gridDim.z
    monkeypatch.setattr(flr, "CUDA_TILES", tiles)
    args = make_args(
        (15, 17), (24,), (12, 12), (4, 4), (2, 2), (-2, -5, -2, -5), clamp=3.0, n=1, c=3, seed=3
    )  # fmt: skip  (out 10x14)
    plan = flr._cuda_plan(*args[:3], *args[4:7])
    assert plan.tile_w <= tiles[0][0] and plan.tile_h <= tiles[0][1]
    assert plan.grid[0] * plan.grid[1] > 1
    grid = plan.grid if grid_z is None else (*plan.grid[:2], grid_z)
    got = run_kernel(emu, args, grid=grid)
    assert torch.isfinite(got).all()
    assert relative_error(got, reference64(args)) < TOLERANCE[torch.float32]


def test_channels_last_input(emu):
    args = list(make_args((14, 15), (12,), (12,), (2, 2), (2, 2), (9, 8, 9, 8), clamp=2.0))
    args[0] = args[0].to(memory_format=torch.channels_last)
    got = run_kernel(emu, tuple(args))
    assert relative_error(got, reference64(args)) < TOLERANCE[torch.float32]


def test_plan_shared_memory_and_fallbacks():
    x = torch.zeros(1, 4, 36, 36)
    fu, fd = torch.ones(24), torch.ones(12, 12)
    plan = flr._cuda_plan(x, fu, fd, (4, 4), (2, 2), (-2, -5, -2, -5))
    assert plan is not None and plan.shared_bytes <= 48 * 1024
    assert plan.grid[2] == 4
    # not for the kernel: other dtypes, empty inputs, filters too big for any tile's shared memory
    assert flr._cuda_plan(x.double(), fu, fd, (4, 4), (2, 2), (0, 0, 0, 0)) is None
    assert flr._cuda_plan(x[:0], fu, fd, (4, 4), (2, 2), (0, 0, 0, 0)) is None
    huge = torch.ones(100, 100)
    assert (
        flr._cuda_plan(torch.zeros(1, 1, 200, 200), huge, None, (1, 1), (1, 1), (0, 0, 0, 0))
        is None
    )
    with pytest.raises(ValueError, match="can't take"):
        flr.cuda_launch_args(x.double(), fu, fd, None, (4, 4), (2, 2), (0, 0, 0, 0), 1.0, 0.2,
                             None, False)  # fmt: skip


def test_shared_bytes_are_checked_by_the_emulator(emu):
    # the emulator catches a launch whose shared memory is smaller than the kernel's layout: the
    # check that keeps `_shared_floats` and the kernel's `flrelu_layout` equal is real
    args = make_args((14, 15), (12,), (12,), (2, 2), (2, 2), (9, 8, 9, 8))
    plan = flr._cuda_plan(*args[:3], *args[4:7])
    name, kernel_args, _ = flr.cuda_launch_args(*args)
    short = dataclasses.replace(plan, shared_bytes=plan.shared_bytes - 64)
    with pytest.raises(harness.EmulationError):
        emu.launch(name, short.grid, flr.CUDA_BLOCK, short.shared_bytes, *kernel_args)


def test_nan_input_spreads_as_in_the_reference(emu):
    # the clamp keeps NaN as NaN (torch.clamp does; an fminf/fmaxf clamp would hide it)
    args = make_args((14, 15), (12,), (12,), (2, 2), (2, 2), (9, 8, 9, 8), clamp=1.0)
    args[0][0, 1, 6, 7] = float("nan")
    got = run_kernel(emu, args)
    want = reference64(args)
    is_nan = torch.isnan(want)
    assert is_nan.any() and not is_nan.all()
    assert torch.equal(torch.isnan(got), is_nan)
    assert relative_error(got[~is_nan], want[~is_nan]) < TOLERANCE[torch.float32]


def test_cuda_entry_with_a_cpu_tensor_takes_the_torch_path(monkeypatch):
    calls = []
    fast = flr._fast
    monkeypatch.setattr(flr, "_fast", lambda *a: calls.append(1) or fast(*a))
    args = make_args((14, 15), (12,), (12,), (2, 2), (2, 2), (9, 8, 9, 8), clamp=2.0)
    got = flr._cuda(*args)  # no launch is tried: there is no GPU pointer to give the kernel
    assert calls == [1]
    assert relative_error(got, reference64(args)) < TOLERANCE[torch.float32]
