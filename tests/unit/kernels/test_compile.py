"""Run-time kernel build (kernels/_compile.py): fallback reasons, NVRTC compile and disk cache.

The NVRTC tests use the real library (no device is needed to compile) and skip when the `gpu`
extra (cuda-bindings + nvidia-cuda-nvrtc) is not installed. Loading and launching need a GPU:
tests/gpu/ covers those.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from kernels import _compile, backend


def _nvrtc_reason() -> str | None:
    """Why NVRTC can't be used here, or None when it can."""
    try:
        _compile.nvrtc_version()
    except _compile.KernelBuildError as e:
        return str(e)
    return None


NVRTC_MISSING = _nvrtc_reason()
needs_nvrtc = pytest.mark.skipif(
    NVRTC_MISSING is not None, reason=f"NVRTC unavailable: {NVRTC_MISSING}"
)
no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU path")

TINY = """
extern "C" __global__ void scale_f32(const float* x, float* y, long long n, float gain) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] * gain;
}
"""
TINY_HALF = """
#include <cuda_fp16.h>
extern "C" __global__ void fill_f16(__half* y, long long n, float value) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = __float2half(value);
}
"""


@pytest.fixture(autouse=True)
def _isolate(monkeypatch, tmp_path):
    saved = (backend._selected, backend._reason)
    monkeypatch.delenv(_compile.FAIL_ENV, raising=False)
    monkeypatch.setenv(_compile.CACHE_ENV, str(tmp_path / "cache"))
    _compile.clear_cache()
    yield
    backend._selected, backend._reason = saved
    _compile.clear_cache()


def _counting_compiler():
    calls: list[str] = []

    def compiler(source, name, target, options):
        calls.append(name)
        return _compile.nvrtc_compile(source, name, target, options)

    return compiler, calls


def _has_symbol(binary: bytes, name: str) -> bool:
    """The entry point is a symbol of the CUBIN (its null-terminated name in the string table)."""
    return b"\0" + name.encode() + b"\0" in binary


# --- without a GPU ------------------------------------------------------------------------------


@no_gpu
def test_load_without_gpu_gives_reason_and_is_cached():
    assert _compile.load() == (None, "no CUDA device")
    assert _compile.load() is _compile.load()


@no_gpu
def test_select_auto_falls_back_with_one_line(caplog):
    with caplog.at_level(logging.INFO, logger="kernels"):
        assert backend.select("auto") == "torch"
    lines = [r for r in caplog.records if r.name.startswith("kernels")]
    assert len(lines) == 1
    assert "no CUDA device" in lines[0].getMessage()
    assert backend.current() == "torch" and backend.reason() == "no CUDA device"


@no_gpu
def test_select_cuda_raises_with_reason():
    with pytest.raises(RuntimeError, match="no CUDA device"):
        backend.select("cuda")


def test_forced_compile_failure_falls_back(monkeypatch, caplog):
    """LATENT_WALK_KERNELS_FAIL=compile: auto falls back (on any machine), cuda raises."""
    monkeypatch.setenv(_compile.FAIL_ENV, "compile")
    with caplog.at_level(logging.INFO, logger="kernels"):
        assert backend.select("auto") == "torch"
    module, why = _compile.load()
    assert module is None
    if torch.cuda.is_available() and NVRTC_MISSING is None:
        assert "forced compile failure" in why
    assert why in caplog.text
    with pytest.raises(RuntimeError, match="can't load"):
        backend.select("cuda")


def test_missing_cuda_bindings_is_a_reason(monkeypatch):
    monkeypatch.setitem(sys.modules, "cuda.bindings", None)  # makes the import fail
    with pytest.raises(_compile.KernelBuildError, match="pip install"):
        _compile.nvrtc_version()


def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv(_compile.CACHE_ENV, str(tmp_path / "x"))
    assert _compile.cache_dir() == tmp_path / "x"
    monkeypatch.delenv(_compile.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _compile.cache_dir() == tmp_path / "xdg" / "latent-walk" / "kernels"


def test_cache_key_covers_every_input():
    base = ("src", "sm_90", (13, 5), 13000, ["--std=c++17"])
    keys = {
        _compile.cache_key(*base),
        _compile.cache_key("src2", *base[1:]),
        _compile.cache_key(base[0], "sm_80", *base[2:]),
        _compile.cache_key(*base[:2], (13, 6), *base[3:]),
        _compile.cache_key(*base[:3], 13010, base[4]),
        _compile.cache_key(*base[:4], ["--std=c++20"]),
    }
    assert len(keys) == 6


def test_choose_target():
    archs = [75, 80, 86, 89, 90, 100, 120]
    assert _compile.choose_target(90, archs) == "sm_90"
    assert _compile.choose_target(95, archs) == "compute_90"  # unknown newer arch: PTX, JIT
    with pytest.raises(_compile.KernelBuildError, match="older than NVRTC"):
        _compile.choose_target(61, archs)


def test_pack_args_builds_kernel_params():
    t = torch.zeros(4)
    params, keep = _compile.pack_args(
        [t, None, np.int64(-5), np.int32(7), np.float32(1.5), ctypes.c_int(3)]
    )
    assert ctypes.c_void_p.from_address(params[0]).value == t.data_ptr()
    assert ctypes.c_void_p.from_address(params[1]).value is None
    assert ctypes.c_int64.from_address(params[2]).value == -5
    assert ctypes.c_int32.from_address(params[3]).value == 7
    assert ctypes.c_float.from_address(params[4]).value == 1.5
    assert ctypes.c_int.from_address(params[5]).value == 3
    with pytest.raises(TypeError, match="np.int32"):
        _compile.pack_args([3])


# --- real NVRTC, no device needed ---------------------------------------------------------------


@needs_nvrtc
def test_compile_tiny_source_for_sm90(tmp_path):
    c = _compile.compile_source(TINY, "tiny.cu", "sm_90", cache=tmp_path)
    assert c.kind == "cubin" and c.binary.startswith(b"\x7fELF") and not c.from_cache
    assert _has_symbol(c.binary, "scale_f32")
    ptx = _compile.compile_source(TINY, "tiny.cu", "compute_90", cache=tmp_path)
    assert ptx.kind == "ptx" and b".entry scale_f32" in ptx.binary


@needs_nvrtc
def test_compile_with_fp16_header(tmp_path):
    """cuda_fp16.h comes from NVRTC's bundled headers (or a CUDA toolkit); no host toolchain."""
    c = _compile.compile_source(TINY_HALF, "half.cu", "sm_90", cache=tmp_path)
    assert _has_symbol(c.binary, "fill_f16")


@needs_nvrtc
def test_syntax_error_reason_quotes_nvrtc_log(tmp_path):
    bad = TINY.replace("y[i] = x[i] * gain;", "y[i] = x[i] * gain")
    with pytest.raises(_compile.KernelBuildError) as info:
        _compile.compile_source(bad, "bad.cu", "sm_90", cache=tmp_path)
    why = str(info.value)
    assert why.startswith("compile error in bad.cu (sm_90)")
    assert 'bad.cu(5): error: expected a ";"' in why  # NVRTC's own line
    assert not list(tmp_path.glob("bad-*"))  # nothing cached


@needs_nvrtc
def test_forced_compile_failure_is_a_real_nvrtc_error(monkeypatch, tmp_path):
    monkeypatch.setenv(_compile.FAIL_ENV, "compile")
    with pytest.raises(_compile.KernelBuildError, match="forced compile failure"):
        _compile.compile_source(TINY, "tiny.cu", "sm_90", cache=tmp_path)


@needs_nvrtc
def test_cache_hit_skips_nvrtc_and_corrupt_entry_is_rebuilt(tmp_path):
    compiler, calls = _counting_compiler()
    first = _compile.compile_source(TINY, "tiny.cu", "sm_90", cache=tmp_path, compiler=compiler)
    second = _compile.compile_source(TINY, "tiny.cu", "sm_90", cache=tmp_path, compiler=compiler)
    assert calls == ["tiny.cu"]
    assert second.from_cache and second.binary == first.binary
    # another driver version or option is another key
    _compile.compile_source(
        TINY, "tiny.cu", "sm_90", cache=tmp_path, compiler=compiler, driver_version=1
    )
    assert len(calls) == 2

    (entry,) = [p for p in tmp_path.glob("tiny-sm_90-*.cubin")][:1]
    for damage in (b"garbage", entry.read_bytes()[:-10], b""):
        entry.write_bytes(damage)
        rebuilt = _compile.compile_source(
            TINY, "tiny.cu", "sm_90", cache=tmp_path, compiler=compiler
        )
        assert not rebuilt.from_cache and rebuilt.binary == first.binary
    assert len(calls) == 5
    assert _compile.compile_source(TINY, "tiny.cu", "sm_90", cache=tmp_path).from_cache
    assert not list(tmp_path.glob("*.tmp"))


@needs_nvrtc
def test_unreadable_cache_dir_still_compiles(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    c = _compile.compile_source(TINY, "tiny.cu", "sm_90", cache=blocker / "sub")
    assert _has_symbol(c.binary, "scale_f32")


REAL_SOURCES = sorted(_compile.CSRC.glob("*.cu"))


@needs_nvrtc
@pytest.mark.skipif(not REAL_SOURCES, reason="no kernels/csrc/*.cu yet")
@pytest.mark.parametrize("path", REAL_SOURCES, ids=[p.name for p in REAL_SOURCES])
def test_real_sources_compile_for_sm90(path: Path, tmp_path):
    source = path.read_text()
    names = _compile.entry_points(source)
    assert names, f'{path.name} defines no extern "C" __global__ entry point'
    c = _compile.compile_file(path, "sm_90", cache=tmp_path)
    missing = [n for n in names if not _has_symbol(c.binary, n)]
    assert not missing
