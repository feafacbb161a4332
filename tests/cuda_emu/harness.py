"""Build a kernels/csrc/*.cu file for the CPU (g++ and cuda_emu.h) and launch its entry points.

    emu = harness.build(CSRC / "upfirdn2d.cu")        # compiled once, cached by content hash
    emu.launch("upfirdn2d_f32", grid, block, shared_bytes, x, f, y, planes, ...)

Entry points are the `extern "C" __global__ void NAME(...)` functions of the source (the launch
ABI of kernels/csrc/README.md). For each one a wrapper `launch_NAME(grid, block, shared bytes,
<the kernel's parameters>)` is generated and the whole file is compiled with
`g++ -std=c++20 -O1 -pthread -shared -fPIC -include cuda_emu.h`. Arguments are checked against
the declared parameter types: a pointer takes a dense numpy array or CPU torch tensor of the
pointee's dtype (or None), a scalar takes a Python number or a numpy scalar of exactly the
declared width (so a launcher passing np.int32 for a `long long` fails here, not silently on the
GPU). The launch is synchronous. Execution model and limits: cuda_emu.h and README.md here.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
CXX = os.environ.get("CXX", "g++")
CXX_FLAGS = ("-std=c++20", "-O1", "-pthread", "-shared", "-fPIC", "-ffp-contract=off")
CACHE_ENV = "CUDA_EMU_CACHE"
MIN_GCC_MAJOR = 11  # C++20 <semaphore> and std::atomic_ref
# Dynamic shared memory a launch may use without cuFuncSetAttribute (CUDA's default limit)
DEFAULT_MAX_SHARED_BYTES = 48 * 1024
_ERROR_BYTES = 2048
_LOG_LINES = 15  # compiler output lines quoted in a build error

SCALAR_TYPES: dict[str, np.dtype] = {
    "int": np.dtype(np.int32),
    "unsigned int": np.dtype(np.uint32),
    "unsigned": np.dtype(np.uint32),
    "long long": np.dtype(np.int64),
    "long long int": np.dtype(np.int64),
    "int64_t": np.dtype(np.int64),
    "unsigned long long": np.dtype(np.uint64),
    "uint64_t": np.dtype(np.uint64),
    "size_t": np.dtype(np.uint64),
    "float": np.dtype(np.float32),
    "double": np.dtype(np.float64),
}
POINTEE_TYPES: dict[str, np.dtype | None] = {
    **SCALAR_TYPES,
    "__half": np.dtype(np.float16),
    "unsigned char": np.dtype(np.uint8),
    "uint8_t": np.dtype(np.uint8),
    "void": None,  # any dtype
}
_CTYPES = {
    np.dtype(np.int32): ctypes.c_int32,
    np.dtype(np.uint32): ctypes.c_uint32,
    np.dtype(np.int64): ctypes.c_int64,
    np.dtype(np.uint64): ctypes.c_uint64,
    np.dtype(np.float32): ctypes.c_float,
    np.dtype(np.float64): ctypes.c_double,
}


class EmulationError(RuntimeError):
    """A build or launch failed (compiler errors, bad arguments, a fault found while running)."""


@dataclass(frozen=True)
class Param:
    """One kernel parameter as declared: `const float* x` -> (base 'float', pointer, const)."""

    decl: str
    name: str
    base: str
    is_pointer: bool
    is_const: bool

    @property
    def dtype(self) -> np.dtype | None:
        """numpy dtype of the scalar or of the pointee (None: void*, any dtype)."""
        return POINTEE_TYPES[self.base] if self.is_pointer else SCALAR_TYPES[self.base]


@dataclass(frozen=True)
class Kernel:
    """An `extern "C" __global__` entry point and its parameters."""

    name: str
    params: tuple[Param, ...]


# ------------------------------------------------------------------------------------------------
# Parsing and source generation

_ENTRY = re.compile(
    r'extern\s+"C"\s+__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?void\s+(\w+)\s*\('
)
_EXTERN_SHARED = re.compile(
    r"extern\s+__shared__\s+(?:__align__\s*\(\s*\d+\s*\)\s*)?([\w\s]+?)\s+(\w+)\s*\[\s*\]\s*;"
)


def parse_param(decl: str, kernel: str) -> Param:
    """Parse one parameter declaration (`const float* __restrict__ x`)."""
    text = " ".join(decl.replace("*", " * ").replace("__restrict__", " ").split())
    match = re.fullmatch(r"((?:const\s+)?)([\w\s]+?)\s*(\*?)\s*(?:const\s+)?(\w+)", text)
    if match is None:
        raise EmulationError(f"{kernel}: can't parse parameter {decl.strip()!r}")
    const, base, star, name = match.groups()
    base = " ".join(w for w in base.split() if w != "const")
    is_pointer = star == "*"
    known = POINTEE_TYPES if is_pointer else SCALAR_TYPES
    if base not in known:
        raise EmulationError(
            f"{kernel}: parameter {decl.strip()!r}: type {base!r} is not supported "
            f"(one of {', '.join(known)})"
        )
    return Param(decl.strip(), name, base, is_pointer, bool(const) or "const" in match.group(2))


def parse_kernels(source: str) -> list[Kernel]:
    """The entry points of a source, with parameters, in file order."""
    kernels = []
    for match in _ENTRY.finditer(source):
        depth, end = 1, match.end()
        while depth:
            if end >= len(source):
                raise EmulationError(f"{match.group(1)}: unbalanced parentheses in the signature")
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            end += 1
        inner = source[match.end() : end - 1]
        params = tuple(parse_param(p, match.group(1)) for p in inner.split(",") if p.strip())
        kernels.append(Kernel(match.group(1), params))
    return kernels


def transform(source: str) -> str:
    """Rewrite each `extern __shared__ T name[];` as a pointer to the launch's dynamic buffer."""
    return _EXTERN_SHARED.sub(
        lambda m: (
            f"{m.group(1)}* {m.group(2)} = "
            f"reinterpret_cast<{m.group(1)}*>(::cuda_emu::dynamic_shared());"
        ),
        source,
    )


def wrapper(kernels: list[Kernel]) -> str:
    """C++ for one `launch_NAME` export per kernel."""
    parts = []
    for k in kernels:
        decls = "".join(f", {p.decl}" for p in k.params)
        names = ", ".join(p.name for p in k.params)
        parts.append(
            f'extern "C" int launch_{k.name}(unsigned gx, unsigned gy, unsigned gz, unsigned bx,\n'
            f"    unsigned by, unsigned bz, unsigned long long shared_bytes, int schedule,\n"
            f"    unsigned long long max_shared_bytes, char* err, int err_len{decls})\n"
            f"{{\n"
            f"    return ::cuda_emu::launch(dim3(gx, gy, gz), dim3(bx, by, bz), shared_bytes,\n"
            f"        max_shared_bytes, schedule, err, err_len, [&] {{ {k.name}({names}); }});\n"
            f"}}\n"
        )
    return "\n".join(parts)


def translation_unit(cu_path: Path) -> tuple[str, list[Kernel]]:
    """The C++ compiled for a .cu: the transformed source (line numbers kept) and the wrappers."""
    source = Path(cu_path).read_text()
    kernels = parse_kernels(source)
    if not kernels:
        raise EmulationError(f'{cu_path}: no extern "C" __global__ entry points')
    lines = len(source.splitlines())
    text = (
        f'#line 1 "{cu_path}"\n{transform(source)}\n'
        f'#line {lines + 2} "{Path(cu_path).name} (cuda_emu wrappers)"\n{wrapper(kernels)}'
    )
    return text, kernels


# ------------------------------------------------------------------------------------------------
# Build


@functools.cache
def compiler() -> str | None:
    """Path of a usable host C++ compiler ($CXX, default g++); None when missing or too old."""
    path = shutil.which(CXX)
    if path is None:
        return None
    proc = subprocess.run([path, "-dumpversion"], capture_output=True, text=True, check=False)
    major = proc.stdout.strip().split(".")[0]
    is_gcc = "clang" not in _compiler_version(path).lower()
    if is_gcc and (not major.isdigit() or int(major) < MIN_GCC_MAJOR):
        return None
    return path


def cache_dir() -> Path:
    """Where built libraries go: $CUDA_EMU_CACHE, else $XDG_CACHE_HOME/latent-walk/cuda_emu
    (the system temp dir when that can't be written)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "latent-walk" / "cuda_emu"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return Path(tempfile.gettempdir()) / "latent-walk-cuda_emu"
    return (
        path if os.access(path, os.W_OK) else Path(tempfile.gettempdir()) / "latent-walk-cuda_emu"
    )


def _compiler_version(cxx: str) -> str:
    proc = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False)
    return proc.stdout.splitlines()[0] if proc.stdout else cxx


def _compile(cxx: str, text: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so.tmp", dir=out.parent)
    os.close(fd)
    cmd = [cxx, *CXX_FLAGS, "-I", str(HERE), "-include", str(HERE / "cuda_emu.h")]
    cmd += ["-x", "c++", "-", "-o", tmp]
    proc = subprocess.run(cmd, input=text, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        os.unlink(tmp)
        log = "\n".join((proc.stdout + proc.stderr).splitlines()[:_LOG_LINES])
        raise EmulationError(f"{cxx} failed ({' '.join(cmd[:8])} ...):\n{log}")
    os.replace(tmp, out)


_built: dict[Path, Emulated] = {}


def build(cu_path: str | Path) -> Emulated:
    """Compile a .cu for the CPU (or take the cached library) and load it."""
    cu_path = Path(cu_path).resolve()
    cxx = compiler()
    if cxx is None:
        raise EmulationError(f"no C++ compiler ({CXX}) on PATH")
    text, kernels = translation_unit(cu_path)
    key = hashlib.sha256()
    for part in (
        (HERE / "cuda_emu.h").read_text(),
        (HERE / "cuda_fp16.h").read_text(),
        text,
        " ".join(CXX_FLAGS),
        _compiler_version(cxx),
    ):
        key.update(part.encode() + b"\0")
    lib_path = cache_dir() / f"{cu_path.stem}-{key.hexdigest()[:20]}.so"
    if lib_path not in _built:
        if not lib_path.is_file():
            _compile(cxx, text, lib_path)
        _built[lib_path] = Emulated(cu_path, lib_path, kernels)
    return _built[lib_path]


# ------------------------------------------------------------------------------------------------
# Launch


def _dims(value: int | tuple[int, ...] | list[int], what: str) -> tuple[int, int, int]:
    dims = (value,) if isinstance(value, (int, np.integer)) else tuple(value)
    if not 1 <= len(dims) <= 3 or not all(isinstance(d, (int, np.integer)) for d in dims):
        raise EmulationError(f"{what} must be 1 to 3 ints, got {value!r}")
    return tuple(int(d) for d in (*dims, 1, 1)[:3])  # type: ignore[return-value]


def _pointer(arg: Any, p: Param, where: str) -> ctypes.c_void_p:
    """A numpy array / CPU torch tensor / None as a pointer, checked against the declaration."""
    if arg is None:
        return ctypes.c_void_p(0)
    if isinstance(arg, np.ndarray):
        dtype, address = arg.dtype, arg.ctypes.data
        if not arg.flags.c_contiguous:
            raise EmulationError(f"{where}: numpy array is not C-contiguous")
        if not p.is_const and not arg.flags.writeable:
            raise EmulationError(f"{where}: array is read-only but the kernel writes it")
    elif type(arg).__module__.startswith("torch") and hasattr(arg, "data_ptr"):
        import torch

        if arg.device.type != "cpu":
            raise EmulationError(f"{where}: tensor is on {arg.device}, the emulator needs CPU")
        dense = arg.is_contiguous() or (
            arg.ndim == 4 and arg.is_contiguous(memory_format=torch.channels_last)
        )
        if not dense:
            raise EmulationError(f"{where}: tensor is not dense (contiguous or channels-last)")
        dtype, address = np.dtype(str(arg.dtype).removeprefix("torch.")), arg.data_ptr()
    else:
        raise EmulationError(f"{where}: expected an array, tensor or None, got {type(arg)}")
    if p.dtype is not None and dtype != p.dtype:
        raise EmulationError(f"{where}: dtype {dtype} does not match the declared {p.base}*")
    return ctypes.c_void_p(address)


def _scalar(arg: Any, p: Param, where: str) -> Any:
    """A Python number or an exactly-typed numpy scalar as the declared C scalar."""
    want = p.dtype
    assert want is not None
    if isinstance(arg, np.generic):
        if arg.dtype != want:
            raise EmulationError(
                f"{where}: numpy {arg.dtype} scalar for a parameter declared {p.base} ({want})"
            )
        arg = arg.item()
    elif isinstance(arg, bool) or not isinstance(arg, (int, float)):
        raise EmulationError(f"{where}: expected a number for {p.base}, got {type(arg).__name__}")
    if want.kind in "iu":
        info = np.iinfo(want)
        if not isinstance(arg, int) or not info.min <= arg <= info.max:
            raise EmulationError(f"{where}: {arg!r} is not a {p.base}")
    return _CTYPES[want](arg)


class Emulated:
    """A .cu built for the CPU: `launch(name, grid, block, shared_bytes, *args)`."""

    def __init__(self, cu_path: Path, lib_path: Path, kernels: list[Kernel]) -> None:
        self.cu_path = cu_path
        self.lib_path = lib_path
        self.kernels = {k.name: k for k in kernels}
        self._lib = ctypes.CDLL(str(lib_path))
        self._functions = {}
        fixed = [ctypes.c_uint] * 6 + [ctypes.c_ulonglong, ctypes.c_int, ctypes.c_ulonglong]
        fixed += [ctypes.c_char_p, ctypes.c_int]
        for k in kernels:
            fn = getattr(self._lib, f"launch_{k.name}")
            fn.restype = ctypes.c_int
            fn.argtypes = fixed + [
                ctypes.c_void_p if p.is_pointer else _CTYPES[p.dtype] for p in k.params
            ]
            self._functions[k.name] = fn

    def launch(
        self,
        name: str,
        grid: int | tuple[int, ...],
        block: int | tuple[int, ...],
        shared_bytes: int,
        *args: Any,
        max_shared_bytes: int = DEFAULT_MAX_SHARED_BYTES,
        schedule: str = "threads",
    ) -> None:
        """Run entry point `name` to completion; EmulationError on bad arguments or a fault.

        schedule: "threads" (a block's threads run concurrently), "forward" / "reverse" (one at
        a time in rank order or its reverse, each until its next __syncthreads).
        """
        kernel = self.kernels.get(name)
        if kernel is None:
            raise EmulationError(f"no entry point {name!r} in {self.cu_path.name}: {self.kernels}")
        if schedule not in SCHEDULES:
            raise EmulationError(
                f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}"
            )
        if len(args) != len(kernel.params):
            raise EmulationError(
                f"{name} takes {len(kernel.params)} arguments "
                f"({', '.join(p.decl for p in kernel.params)}), got {len(args)}"
            )
        values = []
        for i, (arg, p) in enumerate(zip(args, kernel.params, strict=True)):
            where = f"{name} argument {i} ({p.decl})"
            values.append(_pointer(arg, p, where) if p.is_pointer else _scalar(arg, p, where))
        err = ctypes.create_string_buffer(_ERROR_BYTES)
        status = self._functions[name](
            *_dims(grid, "grid"), *_dims(block, "block"), int(shared_bytes), SCHEDULES[schedule],
            int(max_shared_bytes), err, _ERROR_BYTES, *values,
        )  # fmt: skip
        if status != 0:
            raise EmulationError(f"{name}: {err.value.decode(errors='replace')}")

    def check_order_independent(
        self, name: str, grid, block, shared_bytes: int, *args: Any, **kwargs: Any
    ) -> None:
        """Launch twice, threads one at a time in rank order then in reverse, from the same
        initial memory; EmulationError when any written argument differs (bit for bit, NaN
        included): the kernel's result depends on thread order, e.g. a missing __syncthreads.
        The second run's results stay in the arguments. Float atomics legitimately differ.
        """
        params = self.kernels[name].params if name in self.kernels else ()
        outputs = [
            (i, p, _as_numpy(a))
            for i, (a, p) in enumerate(zip(args, params, strict=False))
            if p.is_pointer and not p.is_const and a is not None
        ]
        initial = [out.copy() for _, _, out in outputs]
        self.launch(name, grid, block, shared_bytes, *args, schedule="forward", **kwargs)
        forward = [out.copy() for _, _, out in outputs]
        for (_, _, out), start in zip(outputs, initial, strict=True):
            out[...] = start
        self.launch(name, grid, block, shared_bytes, *args, schedule="reverse", **kwargs)
        for (i, p, out), first in zip(outputs, forward, strict=True):
            differs = _bytes(out) != _bytes(first)
            if differs.any():
                raise EmulationError(
                    f"{name}: result depends on the thread order (a missing __syncthreads?): "
                    f"argument {i} ({p.decl}) differs in {int(differs.sum())} of {differs.size} "
                    "bytes between forward and reverse order"
                )


SCHEDULES = {"threads": 0, "forward": 1, "reverse": 2}  # cuda_emu.h `Schedule`


def _bytes(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).reshape(-1).view(np.uint8)


def _as_numpy(arg: Any) -> np.ndarray:
    """A writable numpy view of an array or CPU tensor argument (same memory)."""
    if isinstance(arg, np.ndarray):
        return arg
    return arg.detach().numpy()
