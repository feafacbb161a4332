"""kernels/csrc CUDA kernels run on the CPU (tests/cuda_emu) and match the float64 references.

The real .cu files are compiled with g++ through tests/cuda_emu/cuda_emu.h and launched with the
grid, block and arguments that `kernels/*.py` `_cuda` would use (`cuda_launch_args`, `cuda_grid`),
mostly with 64-thread blocks and a grid capped at 3 blocks so that the grid-stride loops wrap; one
test per op uses the launchers' own block size and grid. Outputs are poisoned with NaN first, sit
between guard regions, and every element is checked written. Thresholds (|y - ref| <= ...):
- bias_act float32: 1e-5 * |ref| + 1e-6 (float32 libm math against float64).
- upfirdn2d float32: 1e-5 * absref + 1e-7, absref = the reference on |x|, |f|, |gain|: the float32
  accumulation of at most 144 taps is within (taps + 3) * 2^-24 * absref < 1e-5 * absref.
- float16 outputs: the same plus 2^-11 * |ref| + 2^-24 (one rounding to binary16).
bias_act's NaN / +-inf / overflow outputs equal torch's (the reference rounded to the dtype).
Also the emulator itself: fp16 conversions against numpy, barriers, shared memory, faults.
Skips without a C++ compiler (g++).
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from cuda_emu import harness

ba = importlib.import_module("kernels.bias_act")
ufd = importlib.import_module("kernels.upfirdn2d")

CSRC = Path(__file__).resolve().parents[3] / "kernels" / "csrc"
SELFTEST = Path(harness.__file__).parent / "selftest.cu"
TEST_BLOCK = 64  # threads per block in these tests (few std::threads per block)
TEST_MAX_BLOCKS = 3  # grid cap: the grid-stride loops wrap several times
GUARD = 64  # elements of NaN guard before and after each output

pytestmark = pytest.mark.skipif(
    harness.compiler() is None,
    reason=f"no C++20 compiler ({harness.CXX}, g++ >= 11): CUDA kernels not emulated on the CPU",
)


@pytest.fixture(scope="module")
def selftest() -> harness.Emulated:
    return harness.build(SELFTEST)


@pytest.fixture(scope="module")
def bias_act_emu() -> harness.Emulated:
    return harness.build(CSRC / "bias_act.cu")


@pytest.fixture(scope="module")
def upfirdn2d_emu() -> harness.Emulated:
    return harness.build(CSRC / "upfirdn2d.cu")


# ------------------------------------------------------------------------------------------------
# Helpers


def guard_output(args: list, y: torch.Tensor) -> tuple[list, torch.Tensor, torch.Tensor]:
    """Replace y in args by a NaN-filled view of the same layout inside a NaN-guarded buffer."""
    buf = torch.full([y.numel() + 2 * GUARD], math.nan, dtype=y.dtype)
    inner = buf[GUARD : GUARD + y.numel()]
    if y.is_contiguous():
        view = inner.view(y.shape)
    else:  # channels-last [N, C, H, W]
        n, c, h, w = y.shape
        view = inner.view(n, h, w, c).permute(0, 3, 1, 2)
    assert view.stride() == y.stride()
    return [view if a is y else a for a in args], view, buf


def check_written(view: torch.Tensor, buf: torch.Tensor, what: str) -> None:
    """Every output element written (finite), and nothing written outside it."""
    unwritten = (~torch.isfinite(view)).sum().item()
    assert unwritten == 0, f"{what}: {unwritten} of {view.numel()} outputs not written (NaN/inf)"
    guards = torch.cat([buf[:GUARD], buf[-GUARD:]])
    assert torch.isnan(guards).all(), f"{what}: kernel wrote outside the output"


def assert_close(y, ref, tol, what: str) -> None:
    err = (y.double() - ref).abs()
    excess = (err - tol).max().item()
    assert excess <= 0, (
        f"{what}: max error {err.max().item():.3g} exceeds tolerance by {excess:.3g} "
        f"at {np.unravel_index(int((err - tol).argmax()), tuple(err.shape))}"
    )


# ------------------------------------------------------------------------------------------------
# The emulator itself


def test_float_to_half_rounds_like_numpy(selftest):
    halves = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    finite = halves[np.isfinite(halves)].astype(np.float32)
    ordered = np.unique(finite)
    mids = ((ordered[:-1].astype(np.float64) + ordered[1:]) / 2).astype(np.float32)  # exact ties
    rng = np.random.default_rng(0)
    random_bits = rng.integers(0, 1 << 32, 100_000, dtype=np.uint64).astype(np.uint32)
    x = np.concatenate([
        finite, mids, np.nextafter(mids, np.float32(np.inf)), np.nextafter(mids, np.float32(0)),
        random_bits.view(np.float32),
        np.array([65504, 65519.99, 65520, 1e6, -1e6, 2**-25, 2**-26, np.inf, -np.inf, np.nan],
                 np.float32),
    ])  # fmt: skip
    y = np.zeros(x.shape, np.float16)
    selftest.launch("float_to_half", 4, TEST_BLOCK, 0, x, y, x.size)
    with np.errstate(over="ignore"):
        want = x.astype(np.float16)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(y), nan)
    bad = np.flatnonzero(y.view(np.uint16)[~nan] != want.view(np.uint16)[~nan])
    assert bad.size == 0, f"{bad.size} mismatches, e.g. {x[~nan][bad[:5]]} -> {y[~nan][bad[:5]]}"


def test_half_to_float_is_exact_for_all_65536(selftest):
    x = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    y = np.zeros(x.shape, np.float32)
    selftest.launch("half_to_float", 2, TEST_BLOCK, 0, x, y, x.size)
    want = x.astype(np.float32)
    assert np.array_equal(y, want, equal_nan=True)
    assert np.array_equal(np.signbit(y), np.signbit(want))


def test_static_shared_and_syncthreads_reduce_each_block(selftest):
    x = np.random.default_rng(1).integers(-100, 100, 3 * 256).astype(np.float32)
    y = np.full(3, np.nan, np.float32)
    selftest.launch("block_sum", 3, 256, 0, x, y)
    assert np.array_equal(y, x.reshape(3, 256).sum(axis=1))


def test_dynamic_shared_with_2d_blocks_and_grid(selftest):
    x = np.arange(4 * 128, dtype=np.float32)
    y = np.full_like(x, np.nan)
    selftest.launch("reverse_chunks", (2, 2), (16, 8), 128 * 4, x, y)
    assert np.array_equal(y, x.reshape(4, 128)[:, ::-1].ravel())


@pytest.mark.parametrize("schedule", ["forward", "reverse"])
def test_serial_schedules_keep_barrier_semantics(selftest, schedule):
    x = np.arange(3 * 128, dtype=np.float32)
    sums = np.full(3, np.nan, np.float32)
    selftest.launch("block_sum", 3, 128, 0, x, sums, schedule=schedule)
    assert np.array_equal(sums, x.reshape(3, 128).sum(axis=1))
    y = np.full_like(x, np.nan)
    selftest.check_order_independent("reverse_chunks", 3, 128, 128 * 4, x, y)
    assert np.array_equal(y, x.reshape(3, 128)[:, ::-1].ravel())


def test_a_missing_barrier_is_caught_by_the_order_check(selftest):
    x = np.arange(2 * 64, dtype=np.float32)
    y = np.zeros_like(x)
    with pytest.raises(harness.EmulationError, match="depends on the thread order"):
        selftest.check_order_independent("reverse_chunks_racy", 2, 64, 64 * 4, x, y)


def test_dynamic_shared_starts_poisoned(selftest):
    y = np.zeros(64, np.float32)
    selftest.launch("read_unwritten_shared", 1, 64, 64 * 4, y)
    assert np.isnan(y).all()


def test_atomics(selftest):
    counter, total = np.zeros(1, np.int32), np.zeros(1, np.float32)
    selftest.launch("count_atomically", 3, 100, 0, counter, total)
    assert counter[0] == 300 and total[0] == 150


@pytest.mark.parametrize(
    "name, grid, block, shared, args, message",
    [
        ("divergent_sync", 1, 64, 0, [np.zeros(64, np.float32)], "divergent __syncthreads"),
        ("shared_overrun", 1, 64, 256, [np.zeros(64, np.float32), 64], "outside dynamic shared"),
        ("divergent_sync", 1, 2048, 0, [np.zeros(64, np.float32)], "invalid block size"),
        ("divergent_sync", (1, 70000), 1, 0, [np.zeros(64, np.float32)], "invalid grid size"),
        ("shared_overrun", 1, 1, 1 << 20, [np.zeros(1, np.float32), 0], "over the launch limit"),
    ],
)
def test_faults_are_reported(selftest, name, grid, block, shared, args, message):
    with pytest.raises(harness.EmulationError, match=message):
        selftest.launch(name, grid, block, shared, *args)


@pytest.mark.parametrize(
    "args, message",
    [
        ([np.zeros(4, np.float32), np.zeros(4, np.float16), np.int32(4)], "declared long long"),
        ([np.zeros(4, np.float64), np.zeros(4, np.float16), 4], "does not match the declared"),
        ([np.zeros(4, np.float32), np.zeros(4, np.float16)[::2], 2], "not C-contiguous"),
        ([np.zeros(4, np.float32), np.zeros(4, np.float16)], "takes 3 arguments"),
        ([np.zeros(4, np.float32), np.zeros(4, np.float16), 2.5], "is not a long long"),
    ],
)
def test_arguments_are_checked_against_the_declaration(selftest, args, message):
    with pytest.raises(harness.EmulationError, match=message):
        selftest.launch("float_to_half", 1, 1, 0, *args)


def test_warp_intrinsics_fail_to_compile(tmp_path, monkeypatch):
    monkeypatch.setenv(harness.CACHE_ENV, str(tmp_path / "cache"))
    cu = tmp_path / "warp.cu"
    cu.write_text(
        'extern "C" __global__ void k(float* y)\n'
        "{ y[threadIdx.x] = __shfl_down_sync(0xffffffffu, y[threadIdx.x], 1); }\n"
    )
    with pytest.raises(harness.EmulationError, match="warp intrinsic.*not supported"):
        harness.build(cu)


def test_parses_the_readme_abi_of_every_csrc_file():
    for cu in sorted(CSRC.glob("*.cu")):
        kernels = harness.parse_kernels(cu.read_text())
        assert kernels, f"{cu.name}: no entry points parsed"
        for k in kernels:
            assert k.params, f"{cu.name}: {k.name} has no parameters"
    (n,) = (p for p in harness.parse_kernels((CSRC / "bias_act.cu").read_text())[0].params
            if p.name == "n")  # fmt: skip
    assert n.base == "long long" and not n.is_pointer


# ------------------------------------------------------------------------------------------------
# bias_act


def _bias_act_inputs(shape, dtype, is_channels_last, gen):
    x = torch.randn(shape, generator=gen) * 4
    x.view(-1)[:6] = torch.tensor([0.0, -0.0, 25.0, -25.0, 19.99, 20.01])  # branch edges
    x = x.to(dtype)
    return x.contiguous(memory_format=torch.channels_last) if is_channels_last else x


BIAS_ACT_LAYOUTS = [  # (shape, dim, channels-last, with bias)
    ((2, 5, 3, 7), 1, False, True),
    ((2, 5, 3, 7), 1, False, False),
    ((2, 5, 3, 7), 1, True, True),
    ((6, 11), 1, False, True),  # [N, C]: inner 1
    ((3, 4, 9), 2, False, True),  # bias along the last dim
]


def _run_bias_act(emu, x, b, dim, act, clamp, block, max_blocks):
    spec = ba.ACTIVATIONS[act]
    name, args, y = ba.cuda_launch_args(x, b, dim, act, spec.def_alpha, spec.def_gain, clamp)
    args, view, buf = guard_output(args, y)
    emu.launch(name, ba.cuda_grid(y.numel(), block, max_blocks), block, 0, *args)
    what = f"{name} {act} shape {tuple(x.shape)} dim {dim} bias {b is not None} clamp {clamp}"
    check_written(view, buf, what)
    bd = None if b is None else b.double()
    ref = ba._reference(x.double(), bd, dim, act, spec.def_alpha, spec.def_gain, clamp)
    if x.dtype == torch.float32:
        tol = 1e-5 * ref.abs() + 1e-6
    else:
        tol = (2**-11 + 1e-5) * ref.abs() + 2**-24 + 1e-6
    assert_close(view, ref, tol, what)
    assert view.is_contiguous(memory_format=torch.channels_last) == (
        x.ndim == 4 and not x.is_contiguous()
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("act", list(ba.ACTIVATIONS))
def test_bias_act_matches_reference(bias_act_emu, act, dtype):
    gen = torch.Generator().manual_seed(ba.ACT_CODES[act])
    for shape, dim, is_cl, has_bias in BIAS_ACT_LAYOUTS:
        x = _bias_act_inputs(shape, dtype, is_cl, gen)
        b = (torch.randn([shape[dim]], generator=gen) * 2).to(dtype) if has_bias else None
        for clamp in (None, 1.5):
            _run_bias_act(bias_act_emu, x, b, dim, act, clamp, TEST_BLOCK, TEST_MAX_BLOCKS)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_bias_act_propagates_nan_and_inf_like_torch(bias_act_emu, dtype):
    specials = [math.nan, math.inf, -math.inf, 0.0, -0.0, 100.0, -100.0, 20.0, -20.0, 60000.0]
    x = torch.tensor(specials, dtype=dtype).reshape(1, -1)
    for act in ba.ACTIVATIONS:
        for clamp in (None, 256.0):
            spec = ba.ACTIVATIONS[act]
            args = (None, 1, act, spec.def_alpha, spec.def_gain, clamp)
            name, kernel_args, y = ba.cuda_launch_args(x, *args)
            bias_act_emu.launch(name, ba.cuda_grid(y.numel(), TEST_BLOCK), TEST_BLOCK, 0,
                                *kernel_args)  # fmt: skip
            ref = ba._reference(x.double(), *args).to(dtype).double()  # overflow as in dtype
            got = y.double()
            what = f"{name} {act} clamp {clamp}: x {specials}\n y {y.tolist()}\n ref {ref.tolist()}"
            assert torch.equal(got.isnan(), ref.isnan()), what
            inf = ref.isinf()
            assert torch.equal(got[inf], ref[inf]), what
            finite = torch.isfinite(ref)
            assert ((got - ref).abs() <= 2e-3 * ref.abs() + 1e-6)[finite].all(), what


def test_bias_act_with_the_launchers_own_grid(bias_act_emu):
    gen = torch.Generator().manual_seed(7)
    x = _bias_act_inputs((2, 5, 30, 31), torch.float32, False, gen)
    b = torch.randn([5], generator=gen)
    assert ba.cuda_grid(x.numel()) == (37,)
    _run_bias_act(bias_act_emu, x, b, 1, "lrelu", 256.0, ba.CUDA_BLOCK, ba.CUDA_MAX_BLOCKS)


# ------------------------------------------------------------------------------------------------
# upfirdn2d


def _random_upfirdn_case(rng, up, down):
    """(in h, in w, filter shape, pad, flip, gain) with a non-empty output."""
    while True:
        h, w = (int(v) for v in rng.integers(2, 8, 2))
        fshape = (int(rng.integers(1, 13)),) if rng.random() < 0.5 else tuple(
            int(v) for v in rng.integers(1, 13, 2)
        )  # fmt: skip
        pad = tuple(int(v) for v in rng.integers(-3, 7, 4))
        fw, fh = (fshape[0], fshape[0]) if len(fshape) == 1 else (fshape[1], fshape[0])
        out_w = ufd.output_size(w, up[0], down[0], pad[0], pad[1], fw)
        out_h = ufd.output_size(h, up[1], down[1], pad[2], pad[3], fh)
        if out_w >= 1 and out_h >= 1:
            return h, w, fshape, pad, bool(rng.random() < 0.5), float(rng.uniform(0.5, 4))


def _run_upfirdn2d(emu, x, f, up, down, pad, flip, gain, block, max_blocks):
    name, args, y = ufd.cuda_launch_args(x, f, up, down, pad, flip, gain)
    args, view, buf = guard_output(args, y)
    emu.check_order_independent(name, ufd.cuda_grid(y.numel(), block, max_blocks), block, 0, *args)
    fs = None if f is None else tuple(f.shape)
    what = f"{name} x {tuple(x.shape)} f {fs} up {up} down {down} pad {pad} flip {flip} gain {gain}"
    check_written(view, buf, what)
    fd = None if f is None else f.double()
    ref = ufd._reference(x.double(), fd, up, down, pad, flip, gain)
    fa = None if f is None else fd.abs()
    absref = ufd._reference(x.double().abs(), fa, up, down, pad, flip, abs(gain))
    assert view.shape == ref.shape, f"{what}: shape {tuple(view.shape)} != {tuple(ref.shape)}"
    tol = 1e-5 * absref + 1e-7
    if x.dtype == torch.float16:
        tol = tol + 2**-11 * ref.abs() + 2**-24
    assert_close(view, ref, tol, what)


SCALES = [1, 2, 4]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("down", SCALES)
@pytest.mark.parametrize("up", SCALES)
def test_upfirdn2d_matches_reference(upfirdn2d_emu, up, down, dtype):
    rng = np.random.default_rng(100 * up + 10 * down + (dtype == torch.float16))
    gen = torch.Generator().manual_seed(int(rng.integers(1 << 30)))
    scalings = [((up, up), (down, down)), ((up, 1), (1, down)), ((1, up), (down, 1))]
    for i in range(6):
        up2, down2 = scalings[i % 3]
        h, w, fshape, pad, flip, gain = _random_upfirdn_case(rng, up2, down2)
        x = torch.randn([1, 2, h, w], generator=gen).to(dtype)
        f = torch.randn(fshape, generator=gen)
        _run_upfirdn2d(upfirdn2d_emu, x, f, up2, down2, pad, flip, gain, TEST_BLOCK,
                       TEST_MAX_BLOCKS)  # fmt: skip


@pytest.mark.parametrize(
    "f, up, down, pad",
    [
        (None, (1, 1), (1, 1), (0, 0, 0, 0)),  # identity
        (None, (2, 2), (1, 1), (-1, 2, 3, -2)),  # no filter, crops
        ("12x12", (1, 1), (1, 1), (6, 5, 6, 5)),
        ("12", (2, 2), (2, 2), (-4, -1, -3, 2)),  # negative pads larger than up
        ("4", (4, 4), (4, 4), (0, 3, 3, 0)),
        ("1x12", (1, 2), (4, 1), (2, 2, 1, 1)),
    ],
)
def test_upfirdn2d_edge_cases(upfirdn2d_emu, f, up, down, pad):
    gen = torch.Generator().manual_seed(3)
    if f is not None:
        f = torch.randn([int(s) for s in f.split("x")], generator=gen)
    for dtype in (torch.float32, torch.float16):
        x = torch.randn([2, 3, 9, 10], generator=gen).to(dtype)
        _run_upfirdn2d(upfirdn2d_emu, x, f, up, down, pad, False, 1.0, TEST_BLOCK, TEST_MAX_BLOCKS)


def test_upfirdn2d_with_the_launchers_own_grid_on_an_sg2_upsample(upfirdn2d_emu):
    gen = torch.Generator().manual_seed(5)
    f = ufd.setup_filter([1, 3, 3, 1])  # SG2's resampling filter, 4x4 outer product
    x = torch.randn([1, 4, 16, 16], generator=gen).contiguous(memory_format=torch.channels_last)
    pad = (2, 1, 2, 1)  # upsample2d's padding for 4 taps, up 2
    assert ufd.cuda_grid(4 * 32 * 32) == (16,)
    _run_upfirdn2d(upfirdn2d_emu, x, f, (2, 2), (1, 1), pad, False, 4.0, ufd.CUDA_BLOCK,
                   ufd.CUDA_MAX_BLOCKS)  # fmt: skip
