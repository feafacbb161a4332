"""Run-time compilation (NVRTC) and loading (CUDA driver API) of the kernels in csrc/.

No host compiler, ninja or CUDA toolkit is needed: NVIDIA's `cuda-bindings` package provides
NVRTC and the driver API, and the `nvidia-cuda-nvrtc` wheel provides libnvrtc (the `gpu` extra).
Both are imported lazily: a missing package is a *reason* from `load()`, never an ImportError.

- `load()` -> (CompiledKernels | None, reason): tried once per process, then cached.
- `compile_source()` / `compile_file()`: the lower level, usable without a GPU (NVRTC needs no
  device); binaries are cached on disk keyed by sha256(source, arch, NVRTC version, driver
  version, options). Cache dir: `$LATENT_WALK_KERNEL_CACHE`, else
  `$XDG_CACHE_HOME/latent-walk/kernels` (default `~/.cache/latent-walk/kernels`).
- Test seam: `LATENT_WALK_KERNELS_FAIL=compile` makes every compile fail inside NVRTC (an
  `#error` line is appended to the source); `=load` makes the driver-side load fail.

The cache below is the only module-level state in `kernels/` besides the selected backend name.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)

CSRC = Path(__file__).parent / "csrc"
FAIL_ENV = "LATENT_WALK_KERNELS_FAIL"
CACHE_ENV = "LATENT_WALK_KERNEL_CACHE"
OPTIONS: tuple[str, ...] = ("--std=c++17",)
INSTALL_HINT = (  # the gpu extra of this checkout (the package is not on PyPI)
    "LATENT_WALK_TORCH=torch bash scripts/setup.sh, or .venv/bin/pip install -e '.[gpu]': "
    "cuda-bindings and nvidia-cuda-nvrtc"
)
_MAGIC = b"LWK1"  # cache file: magic, sha256 of the payload, payload
_LOG_LINES = 6  # lines of NVRTC's log quoted in a reason

_cache: tuple[CompiledKernels | None, str] | None = None

# Grid-stride kernels (bias_act, upfirdn2d): threads per block, and the cap on blocks (the kernel
# loops over the rest, so any grid size gives the same result)
CUDA_BLOCK = 256
CUDA_MAX_BLOCKS = 65535


def cuda_grid(n: int, block: int = CUDA_BLOCK, max_blocks: int = CUDA_MAX_BLOCKS) -> tuple[int]:
    """Blocks for n elements of a grid-stride kernel, one thread each, capped."""
    return (max(1, min((n + block - 1) // block, max_blocks)),)


class KernelBuildError(RuntimeError):
    """Compiling or loading the kernels failed; str(error) is the reason given to the user."""


@dataclass(frozen=True)
class Compiled:
    """One compiled source: its binary ("cubin" or "ptx") and whether it came from the cache."""

    name: str
    binary: bytes
    kind: str
    target: str
    from_cache: bool


# A compiler takes (source, name, target, options) and returns (binary, kind); tests wrap the
# real one to count calls.
Compiler = Callable[[str, str, str, Sequence[str]], tuple[bytes, str]]


def loaded() -> CompiledKernels:
    """The loaded kernels (the backend is "cuda" only when load() gave them)."""
    compiled, reason = load()
    if compiled is None:
        raise RuntimeError(f"CUDA kernels are not loaded: {reason}")
    return compiled


def load() -> tuple[CompiledKernels | None, str]:
    """Return (compiled kernels or None, reason); tried once per process, then cached."""
    global _cache
    if _cache is None:
        _cache = _load_uncached()
    return _cache


def clear_cache() -> None:
    """Forget the cached load result (for tests)."""
    global _cache
    _cache = None


def _load_uncached() -> tuple[CompiledKernels | None, str]:
    if not torch.cuda.is_available():
        return None, "no CUDA device"
    try:
        return _build()
    except KernelBuildError as e:
        return None, str(e)
    except Exception as e:  # never stop a show: anything unexpected is a reason too
        return None, f"unexpected error building the kernels: {type(e).__name__}: {e}"


def _build() -> tuple[CompiledKernels, str]:
    """Compile csrc/*.cu for the current GPU's arch (disk-cached) and load them."""
    nvrtc, driver = _bindings()
    nvrtc_ver = nvrtc_version(nvrtc)
    device = torch.cuda.current_device()
    major, minor = torch.cuda.get_device_capability(device)
    torch.cuda.init()
    _drv(driver, driver.cuInit(0), "cuInit")
    driver_ver = _drv(driver, driver.cuDriverGetVersion(), "cuDriverGetVersion")
    target = choose_target(major * 10 + minor, supported_archs(nvrtc))
    sources = sorted(CSRC.glob("*.cu"))
    if not sources:
        raise KernelBuildError(f"no CUDA sources in {CSRC}")
    compiled = [
        compile_file(p, target, driver_version=driver_ver, nvrtc_version_=nvrtc_ver)
        for p in sources
    ]
    if os.environ.get(FAIL_ENV) == "load":
        raise KernelBuildError(f"load error: forced by {FAIL_ENV}=load")
    kernels = CompiledKernels(driver, device, compiled)
    hits = sum(c.from_cache for c in compiled)
    why = (
        f"CUDA kernels loaded ({len(compiled)} files, {target}, {compiled[0].kind}, "
        f"{hits} from cache, NVRTC {nvrtc_ver[0]}.{nvrtc_ver[1]})"
    )
    return kernels, why


# ---------------------------------------------------------------------------------------------
# NVRTC


def _bindings() -> tuple[Any, Any]:
    """Import NVRTC and driver bindings lazily; a missing package is a KernelBuildError."""
    try:
        from cuda.bindings import driver, nvrtc
    except ImportError as e:
        raise KernelBuildError(f"cuda-bindings not installed ({INSTALL_HINT}): {e}") from e
    return nvrtc, driver


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"


def nvrtc_version(nvrtc: Any = None) -> tuple[int, int]:
    """NVRTC's (major, minor); a missing libnvrtc is a KernelBuildError."""
    nvrtc = nvrtc or _bindings()[0]
    try:
        err, major, minor = nvrtc.nvrtcVersion()
    except Exception as e:  # the library is loaded on first call
        raise KernelBuildError(f"NVRTC library not found ({INSTALL_HINT}): {_first_line(e)}") from e
    _rtc(nvrtc, err, "nvrtcVersion")
    return int(major), int(minor)


def supported_archs(nvrtc: Any = None) -> list[int]:
    """The sm_XY numbers this NVRTC compiles for, e.g. [75, 80, ..., 90, 100, 120]."""
    nvrtc = nvrtc or _bindings()[0]
    nvrtc_version(nvrtc)
    err, archs = nvrtc.nvrtcGetSupportedArchs()
    _rtc(nvrtc, err, "nvrtcGetSupportedArchs")
    return [int(a) for a in archs]


def choose_target(arch: int, supported: Iterable[int]) -> str:
    """`sm_XY` (CUBIN) when NVRTC supports the GPU's arch, else PTX for the newest older one."""
    supported = sorted(supported)
    if arch in supported:
        return f"sm_{arch}"
    older = [a for a in supported if a <= arch]
    if not older:
        raise KernelBuildError(
            f"GPU arch sm_{arch} is older than NVRTC supports (sm_{supported[0]} and newer)"
        )
    return f"compute_{older[-1]}"


def _rtc(nvrtc: Any, err: Any, what: str) -> None:
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        _, msg = nvrtc.nvrtcGetErrorString(err)
        raise KernelBuildError(f"{what} failed: {msg.decode(errors='replace')}")


def _program_log(nvrtc: Any, prog: Any) -> str:
    err, size = nvrtc.nvrtcGetProgramLogSize(prog)
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS or size <= 1:
        return ""
    buf = b" " * size
    nvrtc.nvrtcGetProgramLog(prog, buf)
    return buf.rstrip(b"\0").decode(errors="replace")


def _header_dir(nvrtc: Any, cache_dir: Path) -> Path | None:
    """A directory with cuda_fp16.h etc.: NVRTC's bundled headers (13.x), else a CUDA toolkit."""
    if hasattr(nvrtc, "nvrtcInstallBundledHeaders"):
        major, minor = nvrtc_version(nvrtc)
        path = cache_dir / f"nvrtc-headers-{major}.{minor}"
        flags = int(nvrtc.NVRTC_INSTALL_HEADERS_SKIP_IF_EXISTS)
        try:
            (err,) = nvrtc.nvrtcInstallBundledHeaders(str(path).encode(), flags)
            if err == nvrtc.nvrtcResult.NVRTC_SUCCESS and (path / "cuda_fp16.h").is_file():
                return path
        except Exception as e:
            log.debug("kernels: bundled NVRTC headers not installed: %s", e)
    candidates = [
        Path(root) / "include"
        for root in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda")
        if root
    ]
    try:  # the nvidia-cuda-runtime wheel (a CUDA torch's dependency) ships the headers too
        import nvidia

        for base in nvidia.__path__:
            candidates += [Path(base) / "cu13" / "include", Path(base) / "cuda_runtime" / "include"]
    except ImportError:
        pass
    return next((c for c in candidates if (c / "cuda_fp16.h").is_file()), None)


def nvrtc_compile(source: str, name: str, target: str, options: Sequence[str]) -> tuple[bytes, str]:
    """Compile one source with NVRTC (no device needed); a compile error quotes NVRTC's log."""
    nvrtc, _ = _bindings()
    nvrtc_version(nvrtc)
    err, prog = nvrtc.nvrtcCreateProgram(source.encode(), name.encode(), 0, [], [])
    _rtc(nvrtc, err, "nvrtcCreateProgram")
    try:
        opts = [f"--gpu-architecture={target}", *options]
        (err,) = nvrtc.nvrtcCompileProgram(prog, len(opts), [o.encode() for o in opts])
        text = _program_log(nvrtc, prog)
        if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            lines = [ln for ln in text.splitlines() if ln.strip()][:_LOG_LINES]
            raise KernelBuildError(f"compile error in {name} ({target}): " + " | ".join(lines))
        if text.strip():
            log.debug("kernels: NVRTC log for %s:\n%s", name, text)
        if target.startswith("sm_"):
            err, size = nvrtc.nvrtcGetCUBINSize(prog)
            _rtc(nvrtc, err, "nvrtcGetCUBINSize")
            buf = b" " * size
            _rtc(nvrtc, nvrtc.nvrtcGetCUBIN(prog, buf)[0], "nvrtcGetCUBIN")
            return buf, "cubin"
        err, size = nvrtc.nvrtcGetPTXSize(prog)
        _rtc(nvrtc, err, "nvrtcGetPTXSize")
        buf = b" " * size
        _rtc(nvrtc, nvrtc.nvrtcGetPTX(prog, buf)[0], "nvrtcGetPTX")
        return buf, "ptx"
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


# ---------------------------------------------------------------------------------------------
# Disk cache


def cache_dir() -> Path:
    """`$LATENT_WALK_KERNEL_CACHE`, else `$XDG_CACHE_HOME/latent-walk/kernels` (~/.cache/...)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "latent-walk" / "kernels"


def cache_key(
    source: str,
    target: str,
    nvrtc_ver: tuple[int, int],
    driver_version: int,
    options: Sequence[str],
) -> str:
    h = hashlib.sha256()
    for part in (source, target, f"{nvrtc_ver[0]}.{nvrtc_ver[1]}", str(driver_version), *options):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _read_entry(path: Path) -> bytes | None:
    """The payload of a cache file, or None when it is missing, unreadable or corrupt."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(_MAGIC) + 32
    if len(data) <= head or not data.startswith(_MAGIC):
        return None
    payload = data[head:]
    if hashlib.sha256(payload).digest() != data[len(_MAGIC) : head]:
        return None
    return payload


def _write_entry(path: Path, payload: bytes) -> None:
    """Write atomically (temp file + os.replace); a failure only costs a rebuild next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(_MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        log.warning("kernels: can't write the kernel cache %s (%s)", path, e)


def compile_source(
    source: str,
    name: str,
    target: str,
    *,
    options: Sequence[str] = OPTIONS,
    cache: Path | None = None,
    driver_version: int = 0,
    compiler: Compiler = nvrtc_compile,
    nvrtc_version_: tuple[int, int] | None = None,
) -> Compiled:
    """Compile `source` for `target` ("sm_90" -> CUBIN, "compute_90" -> PTX), disk-cached.

    Raises KernelBuildError with the reason (NVRTC's log for a compile error).
    """
    if os.environ.get(FAIL_ENV) == "compile":
        source += f'\n#error "forced compile failure ({FAIL_ENV}=compile)"\n'
    nvrtc_ver = nvrtc_version_ or nvrtc_version()
    cache = cache or cache_dir()
    kind = "cubin" if target.startswith("sm_") else "ptx"
    opts = list(options)
    key = cache_key(source, target, nvrtc_ver, driver_version, opts)
    path = cache / f"{Path(name).stem}-{target}-{key[:40]}.{kind}"
    payload = _read_entry(path)
    if payload is not None:
        return Compiled(name, payload, kind, target, from_cache=True)
    if path.exists():
        log.info("kernels: ignoring a corrupt cache entry %s; rebuilding", path)
    if "#include" in source:
        headers = _header_dir(_bindings()[0], cache)
        if headers is not None:
            opts += [f"-I{headers}", f"-I{headers / 'cccl'}"]
    binary, kind = compiler(source, name, target, opts)
    _write_entry(path, binary)
    return Compiled(name, binary, kind, target, from_cache=False)


def compile_file(path: Path, target: str, **kwargs: Any) -> Compiled:
    """compile_source() on a file; an unreadable file is a KernelBuildError."""
    try:
        source = Path(path).read_text()
    except OSError as e:
        raise KernelBuildError(f"can't read {path}: {e}") from e
    return compile_source(source, Path(path).name, target, **kwargs)


def entry_points(source: str) -> list[str]:
    """The `extern "C" __global__` function names a source defines."""
    return re.findall(
        r'extern\s+"C"\s+__global__\s+(?:__launch_bounds__\([^)]*\)\s*)?void\s+(\w+)', source
    )


# ---------------------------------------------------------------------------------------------
# Driver API: load and launch


def _drv(driver: Any, result: Any, what: str) -> Any:
    """Unpack a driver call's (CUresult, value...) tuple; an error is a KernelBuildError."""
    err, *rest = result if isinstance(result, tuple) else (result,)
    if err != driver.CUresult.CUDA_SUCCESS:
        try:
            _, name = driver.cuGetErrorName(err)
            name = name.decode()
        except Exception:
            name = str(err)
        raise KernelBuildError(f"{what} failed: {name}")
    if not rest:
        return None
    return rest[0] if len(rest) == 1 else tuple(rest)


_NUMPY_TO_CTYPES = {
    np.dtype(np.int32): ctypes.c_int32,
    np.dtype(np.int64): ctypes.c_int64,
    np.dtype(np.uint32): ctypes.c_uint32,
    np.dtype(np.uint64): ctypes.c_uint64,
    np.dtype(np.float32): ctypes.c_float,
    np.dtype(np.float64): ctypes.c_double,
}


def pack_args(args: Sequence[Any]) -> tuple[ctypes.Array, list[Any]]:
    """The void*[] kernel-params array for cuLaunchKernel, and the objects it points into.

    Each arg: a torch.Tensor (its device pointer), None (a null pointer), a numpy scalar
    (np.int32, np.int64, np.float32, ...) or a ctypes scalar. Plain Python ints and floats are
    refused: their C width is ambiguous.
    """
    values: list[Any] = []
    for i, a in enumerate(args):
        if isinstance(a, torch.Tensor):
            values.append(ctypes.c_void_p(a.data_ptr()))
        elif a is None:
            values.append(ctypes.c_void_p(0))
        elif isinstance(a, np.generic):
            ctype = _NUMPY_TO_CTYPES.get(a.dtype)
            if ctype is None:
                raise TypeError(f"kernel arg {i}: unsupported numpy dtype {a.dtype}")
            values.append(ctype(a.item()))
        elif isinstance(a, ctypes._SimpleCData):
            values.append(a)
        else:
            raise TypeError(
                f"kernel arg {i}: {type(a).__name__} is not a tensor, None, numpy scalar or "
                "ctypes scalar (wrap Python numbers as np.int32/np.int64/np.float32)"
            )
    params = (ctypes.c_void_p * max(1, len(values)))()
    for i, v in enumerate(values):
        params[i] = ctypes.addressof(v)
    return params, values


class CompiledKernels:
    """The loaded kernel modules: look up entry points and launch them on a CUDA stream."""

    def __init__(self, driver: Any, device: int, compiled: Sequence[Compiled]) -> None:
        self._driver = driver
        self._thread = threading.local()
        dev = _drv(driver, driver.cuDeviceGet(device), "cuDeviceGet")
        # torch uses the device's primary context; load into the same one
        self._ctx = _drv(driver, driver.cuDevicePrimaryCtxRetain(dev), "cuDevicePrimaryCtxRetain")
        _drv(driver, driver.cuCtxSetCurrent(self._ctx), "cuCtxSetCurrent")
        self._thread.ctx_set = True
        self.modules: dict[str, Any] = {}
        self.sources: dict[str, str] = {}  # entry point -> file
        self._functions: dict[str, Any] = {}
        for c in compiled:
            image = c.binary if c.kind == "cubin" else c.binary.rstrip(b"\0") + b"\0"
            self.modules[c.name] = _drv(
                driver, driver.cuModuleLoadData(image), f"load error: cuModuleLoadData({c.name})"
            )

    def function(self, name: str) -> Any:
        """The CUfunction for an `extern "C"` entry point (looked up once, then remembered)."""
        fn = self._functions.get(name)
        if fn is not None:
            return fn
        not_found = self._driver.CUresult.CUDA_ERROR_NOT_FOUND
        for file, module in self.modules.items():
            err, fn = self._driver.cuModuleGetFunction(module, name.encode())
            if err == self._driver.CUresult.CUDA_SUCCESS:
                self._functions[name] = fn
                self.sources[name] = file
                return fn
            if err != not_found:
                _drv(self._driver, (err,), f"cuModuleGetFunction({name})")
        raise KeyError(f"no kernel entry point {name!r} in {', '.join(self.modules)}")

    def launch(
        self,
        name: str,
        grid: Sequence[int],
        block: Sequence[int],
        args: Sequence[Any],
        stream: int,
        shared_mem: int = 0,
    ) -> None:
        """Launch entry point `name` on `stream` (torch.cuda.current_stream().cuda_stream).

        `args` follow pack_args(); grid and block are 1 to 3 ints.
        """
        if not getattr(self._thread, "ctx_set", False):
            _drv(self._driver, self._driver.cuCtxSetCurrent(self._ctx), "cuCtxSetCurrent")
            self._thread.ctx_set = True
        gx, gy, gz = (*grid, 1, 1)[:3]
        bx, by, bz = (*block, 1, 1)[:3]
        params, keep = pack_args(args)
        _drv(
            self._driver,
            self._driver.cuLaunchKernel(
                self.function(name),
                gx, gy, gz, bx, by, bz,
                shared_mem,
                self._driver.CUstream(int(stream)),
                ctypes.addressof(params),
                0,
            ),
            f"cuLaunchKernel({name})",
        )  # fmt: skip
        del keep  # the params pointed into these until the launch call returned
