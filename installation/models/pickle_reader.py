"""Restricted reader for NVIDIA StyleGAN pickles: decodes them as data, runs no code from the file.

NVIDIA's persistence mechanism stores each network as a call that executes embedded module source.
This reader maps every allowed global name to an inert substitute (reference spec section 1.7) and
refuses everything else, so a hostile file can at most fail to load.
"""

from __future__ import annotations

import collections
import hashlib
import io
import logging
import math
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from installation.errors import ModelLoadError

log = logging.getLogger(__name__)

_PERSISTENT_VERSION = 6
_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_TORCH_LEGACY_PROTOCOL = 1001
_ALLOWED_NUMPY_DTYPES = {"f4", "f8", "f2", "i8", "i4", "b1", "u1"}
_REFUSAL_HINT = (
    "a model file may only reference NVIDIA's persistence/tensor/numpy globals; see docs"
)
# Module state keys that are torch bookkeeping rather than plain attributes of the network class.
_BOOKKEEPING = {"training", "_parameters", "_buffers", "_modules", "_init_args", "_init_kwargs"}


class _Refused(Exception):
    """Raised inside the unpickler; read_pickle adds the file name and raises ModelLoadError."""


# ---------------------------------------------------------------------------------------------
# Public data records


@dataclass
class ModuleRecord:
    """One NVIDIA persistent module (a torch.nn.Module subclass), read as plain data."""

    class_name: str
    path: str
    module_src_sha1: str
    attributes: dict[str, Any] = field(default_factory=dict)
    init_kwargs: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, torch.Tensor] = field(default_factory=dict)
    buffers: dict[str, torch.Tensor] = field(default_factory=dict)
    children: dict[str, ModuleRecord] = field(default_factory=dict)

    def named_tensors(self) -> dict[str, torch.Tensor]:
        """Dotted name -> tensor: all parameters, then all buffers (NVIDIA's named_* order)."""
        out: dict[str, torch.Tensor] = {}
        self._collect("", out, "parameters", set())
        self._collect("", out, "buffers", set())
        return out

    def _collect(
        self, prefix: str, out: dict[str, torch.Tensor], kind: str, seen: set[int]
    ) -> None:
        if id(self) in seen:
            raise ModelLoadError(f"module tree has a cycle at {prefix or '<root>'!r}")
        seen = seen | {id(self)}
        for name, t in getattr(self, kind).items():
            out[prefix + name] = t
        for name, child in self.children.items():
            child._collect(f"{prefix}{name}.", out, kind, seen)

    def find(self, path: str) -> ModuleRecord | None:
        """Descendant at a dotted path relative to this record ('' = self), or None."""
        node: ModuleRecord | None = self
        for part in path.split(".") if path else []:
            node = node.children.get(part) if node is not None else None
        return node

    def __repr__(self) -> str:
        return (
            f"ModuleRecord({self.class_name!r}, path={self.path!r}, "
            f"{len(self.parameters)} params, {len(self.buffers)} buffers, "
            f"children={list(self.children)})"
        )


@dataclass
class TFNetwork:
    """One dnnlib.tflib.network.Network from a legacy TensorFlow pickle, read as plain data."""

    name: str
    version: int
    build_func_name: str
    static_kwargs: dict[str, Any]
    components: dict[str, TFNetwork]
    variables: dict[str, np.ndarray]

    def __repr__(self) -> str:
        return (
            f"TFNetwork({self.name!r}, version={self.version}, build={self.build_func_name!r}, "
            f"{len(self.variables)} variables, components={list(self.components)})"
        )


# ---------------------------------------------------------------------------------------------
# Inert substitutes for the allowed globals


class _EasyDict(dict):
    """Stand-in for dnnlib.util.EasyDict: a plain dict that refuses BUILD state."""

    def __setstate__(self, state: Any) -> None:
        raise _Refused("refused BUILD state on 'dnnlib.util.EasyDict'")

    def __reduce__(self) -> Any:  # pragma: no cover - never pickled
        return (dict, (dict(self),))


class _TFNetworkStub:
    """Stand-in for dnnlib.tflib.network.Network: captures the BUILD state dict, nothing else."""

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict) or getattr(self, "state", None) is not None:
            raise _Refused("malformed state for 'dnnlib.tflib.network.Network'")
        self.state = state


class _NDArrayType:
    """Sentinel for the global numpy.ndarray; only usable as the subtype of _reconstruct."""


class _DTypeStub:
    """Stand-in for numpy.dtype: checked against the dtype allowlist, no numpy code on raw state."""

    def __init__(self, spec: Any, align: Any = False, copy: Any = True) -> None:
        if not isinstance(spec, str) or spec not in _ALLOWED_NUMPY_DTYPES:
            allowed = ", ".join(sorted(_ALLOWED_NUMPY_DTYPES))
            raise _Refused(f"refused numpy dtype {spec!r} (allowed: {allowed})")
        self.dtype = np.dtype(spec)

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) < 2 or not isinstance(state[1], str):
            raise _Refused("malformed numpy dtype state")
        if any(x is not None for x in state[2:5]):
            raise _Refused("refused structured numpy dtype")
        order = state[1]
        if order == ">":
            self.dtype = self.dtype.newbyteorder(">")
        elif order not in ("<", "|", "="):
            raise _Refused(f"malformed numpy dtype byte order {order!r}")


class _NDArrayStub:
    """Stand-in for a numpy array under construction; BUILD state is checked, then copied."""

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if getattr(self, "array", None) is not None:
            raise _Refused("numpy array built twice")
        if not isinstance(state, tuple) or len(state) != 5:
            raise _Refused("malformed numpy array state")
        _version, shape, dtype, fortran, raw = state
        if not isinstance(dtype, _DTypeStub):
            raise _Refused("numpy array state without an allowed dtype")
        if not isinstance(shape, tuple) or not all(type(s) is int and s >= 0 for s in shape):
            raise _Refused("malformed numpy array shape")
        if not isinstance(raw, (bytes, bytearray)):
            raise _Refused("numpy array data is not raw bytes (object arrays are refused)")
        count = math.prod(shape)
        if count * dtype.dtype.itemsize != len(raw):
            raise _Refused(f"numpy array of shape {shape} does not match its {len(raw)} data bytes")
        arr = np.frombuffer(bytes(raw), dtype=dtype.dtype, count=count)
        arr = arr.reshape(shape, order="F" if fortran else "C")
        self.array = arr.astype(dtype.dtype.newbyteorder("="), copy=True)


def _np_reconstruct(subtype: Any, shape: Any, dtype_code: Any) -> _NDArrayStub:
    """Substitute for numpy.core.multiarray._reconstruct: only plain ndarrays."""
    if subtype is not _NDArrayType:
        raise _Refused("numpy _reconstruct of a type other than numpy.ndarray")
    return _NDArrayStub()


def _np_scalar(dtype: Any, raw: Any = None) -> Any:
    """Substitute for numpy.core.multiarray.scalar: a numpy scalar of an allowed dtype."""
    if not isinstance(dtype, _DTypeStub):
        raise _Refused("numpy scalar without an allowed dtype")
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != dtype.dtype.itemsize:
        raise _Refused("malformed numpy scalar data")
    return np.frombuffer(bytes(raw), dtype=dtype.dtype)[0]


def _codecs_encode(text: Any, encoding: Any = "latin1") -> bytes:
    """Substitute for _codecs.encode, which protocol-2 pickles use to spell bytes."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused("refused _codecs.encode call other than str -> latin1 bytes")
    return text.encode("latin1")


def _reconstruct_persistent_obj(meta: Any) -> ModuleRecord:
    """Substitute for torch_utils.persistence._reconstruct_persistent_obj: builds a ModuleRecord."""
    if not isinstance(meta, dict):
        raise _Refused("persistent object meta is not a dict")
    if meta.get("type") != "class":
        raise _Refused(f"persistent object type {meta.get('type')!r} is not supported")
    if meta.get("version") != _PERSISTENT_VERSION:
        raise _Refused(
            f"persistent object version {meta.get('version')!r} is not supported "
            f"(expected {_PERSISTENT_VERSION})"
        )
    class_name = meta.get("class_name")
    state = meta.get("state")
    src = meta.get("module_src", "")
    if not isinstance(class_name, str) or not isinstance(state, dict) or not isinstance(src, str):
        raise _Refused("persistent object meta lacks class_name/state/module_src")
    sha1 = hashlib.sha1(src.encode("utf-8", "surrogatepass")).hexdigest()

    def tensors(key: str) -> dict[str, torch.Tensor]:
        src_dict = state.get(key) or {}
        if not isinstance(src_dict, dict):
            raise _Refused(f"{class_name}.{key} is not a dict")
        out = {}
        for name, t in src_dict.items():
            if t is None:
                continue
            if not isinstance(name, str) or not isinstance(t, torch.Tensor):
                raise _Refused(f"{class_name}.{key}[{name!r}] is not a tensor")
            out[name] = t
        return out

    modules = state.get("_modules") or {}
    if not isinstance(modules, dict):
        raise _Refused(f"{class_name}._modules is not a dict")
    children: dict[str, ModuleRecord] = {}
    for name, child in modules.items():
        if child is None:
            continue
        if not isinstance(name, str) or not isinstance(child, ModuleRecord):
            raise _Refused(f"{class_name}._modules[{name!r}] is not a persistent module")
        children[name] = child
    init_kwargs = state.get("_init_kwargs") or {}
    if not isinstance(init_kwargs, dict):
        raise _Refused(f"{class_name}._init_kwargs is not a dict")
    attributes = {
        k: _plain(v)
        for k, v in state.items()
        if isinstance(k, str) and k not in _BOOKKEEPING and not k.startswith("_")
    }
    return ModuleRecord(
        class_name=class_name,
        path="",
        module_src_sha1=sha1,
        attributes=attributes,
        init_kwargs=_plain(init_kwargs),
        parameters=tensors("_parameters"),
        buffers=tensors("_buffers"),
        children=children,
    )


def _plain(value: Any) -> Any:
    """Copy of value with EasyDicts as dicts, numpy scalars as Python, numpy int arrays as lists."""
    if isinstance(value, _NDArrayStub):
        if value.array is None:
            raise _Refused("numpy array without data")
        value = value.array
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist() if value.dtype.kind in "iub" else value
    if isinstance(value, (_DTypeStub, _TFNetworkStub)):
        raise _Refused(f"unexpected {type(value).__name__} in module state")
    if isinstance(value, collections.OrderedDict):
        return collections.OrderedDict((k, _plain(v)) for k, v in value.items())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return type(value)(_plain(v) for v in value)
    return value


# ---------------------------------------------------------------------------------------------
# Tensors and storages


_STORAGE_DTYPES = {
    "FloatStorage": torch.float32,
    "DoubleStorage": torch.float64,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
}


@dataclass(frozen=True)
class _StorageType:
    """Inert marker for a torch.*Storage global inside a storage blob."""

    name: str
    dtype: torch.dtype


class _BlobUnpickler(pickle.Unpickler):
    """Unpickler for the small pickles inside a storage blob: no globals except *Storage markers."""

    def __init__(self, f: io.BytesIO, allow_storage_id: bool) -> None:
        super().__init__(f)
        self._allow_storage_id = allow_storage_id

    def find_class(self, module: str, name: str) -> Any:
        if self._allow_storage_id and module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name, _STORAGE_DTYPES[name])
        raise _Refused(f"refused global '{module}.{name}' inside a tensor storage blob")

    def persistent_load(self, pid: Any) -> Any:
        if not self._allow_storage_id:
            raise _Refused("refused persistent id inside a tensor storage blob")
        if (
            not isinstance(pid, tuple)
            or len(pid) != 6
            or pid[0] != "storage"
            or not isinstance(pid[1], _StorageType)
            or not isinstance(pid[2], str)
            or type(pid[4]) is not int
            or pid[4] < 0
            or pid[5] is not None
        ):
            raise _Refused("malformed storage id inside a tensor storage blob")
        return pid


def _load_from_bytes(blob: Any) -> torch.Tensor:
    """Own parser of a legacy torch.save of one storage (spec 1.4); returns a flat tensor."""
    if not isinstance(blob, (bytes, bytearray)):
        raise _Refused("tensor storage is not a byte string")
    f = io.BytesIO(bytes(blob))

    def small(allow_storage_id: bool = False) -> Any:
        try:
            return _BlobUnpickler(f, allow_storage_id).load()
        except _Refused:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError) as e:
            raise _Refused(f"corrupt tensor storage blob ({type(e).__name__}: {e})") from None

    if small() != _TORCH_LEGACY_MAGIC:
        raise _Refused("tensor storage blob has a wrong magic number")
    if small() != _TORCH_LEGACY_PROTOCOL:
        raise _Refused("tensor storage blob has an unsupported protocol version")
    sys_info = small()
    if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
        raise _Refused("tensor storage blob is not little-endian")
    pid = small(allow_storage_id=True)
    if not isinstance(pid, tuple) or len(pid) != 6 or pid[0] != "storage":
        raise _Refused("tensor storage blob does not hold a storage")
    storage_type, key, numel = pid[1], pid[2], pid[4]
    keys = small()
    if keys != [key]:
        raise _Refused("tensor storage blob has an unexpected key list")
    head = f.read(8)
    if len(head) != 8:
        raise _Refused("tensor storage blob is truncated")
    count = int.from_bytes(head, "little", signed=True)
    if count != numel:
        raise _Refused(f"tensor storage blob holds {count} elements, its header says {numel}")
    nbytes = numel * torch.empty((), dtype=storage_type.dtype).element_size()
    raw = f.read(nbytes)
    if len(raw) != nbytes:
        raise _Refused("tensor storage blob is truncated")
    if nbytes == 0:
        return torch.empty(0, dtype=storage_type.dtype)
    return torch.frombuffer(bytearray(raw), dtype=storage_type.dtype)


def _rebuild_tensor_v2(
    storage: Any,
    storage_offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any = False,
    backward_hooks: Any = None,
    metadata: Any = None,
) -> torch.Tensor:
    """Own substitute for torch._utils._rebuild_tensor_v2 (as_strided semantics, bounds-checked)."""
    if not isinstance(storage, torch.Tensor) or storage.dim() != 1:
        raise _Refused("tensor without a storage")
    if not isinstance(size, tuple) or not isinstance(stride, tuple) or len(size) != len(stride):
        raise _Refused("malformed tensor size/stride")
    if type(storage_offset) is not int or storage_offset < 0:
        raise _Refused("malformed tensor storage offset")
    if not all(type(s) is int and s >= 0 for s in size + stride):
        raise _Refused("malformed tensor size/stride")
    if math.prod(size) > 0:
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
        if last >= storage.numel():
            raise _Refused(
                f"tensor of size {size}, stride {stride}, offset {storage_offset} reads outside "
                f"its storage of {storage.numel()} elements"
            )
    elif storage_offset > storage.numel():
        raise _Refused("tensor storage offset outside its storage")
    t = torch.as_strided(storage, size, stride, storage_offset)
    if t.is_floating_point() and t.dtype != torch.float32:
        t = t.float()
    elif not t.is_contiguous():
        t = t.contiguous()
    return t


def _rebuild_parameter(data: Any, requires_grad: Any = False, backward_hooks: Any = None) -> Any:
    """Own substitute for torch._utils._rebuild_parameter: the plain tensor."""
    if not isinstance(data, torch.Tensor):
        raise _Refused("parameter without tensor data")
    return data


# ---------------------------------------------------------------------------------------------
# The unpickler


_ALLOWED: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.util", "EasyDict"): _EasyDict,
    ("dnnlib.tflib.network", "Network"): _TFNetworkStub,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("__builtin__", "set"): set,
    ("_codecs", "encode"): _codecs_encode,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,
    ("numpy", "dtype"): _DTypeStub,
    ("numpy", "ndarray"): _NDArrayType,
    ("numpy.core.multiarray", "scalar"): _np_scalar,
    ("numpy._core.multiarray", "scalar"): _np_scalar,
    ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler whose find_class knows only the allowlist; persistent ids are refused."""

    def find_class(self, module: str, name: str) -> Callable[..., Any] | type:
        try:
            return _ALLOWED[(module, name)]
        except (KeyError, TypeError):
            raise _Refused(f"refused global '{module}.{name}' ({_REFUSAL_HINT})") from None

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused(f"refused persistent id {str(pid)[:60]!r} ({_REFUSAL_HINT})")


def _convert_top(obj: Any) -> Any:
    """Replace TF stubs by TFNetwork and give module records their paths."""
    if isinstance(obj, ModuleRecord):
        _assign_paths(obj, "", set())
        return obj
    if isinstance(obj, _TFNetworkStub):
        return _tf_network(obj, depth=0)
    if isinstance(obj, dict):
        return {k: _convert_top(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return tuple(_convert_top(v) for v in obj)
    if isinstance(obj, list):
        return [_convert_top(v) for v in obj]
    return _plain(obj)


def _assign_paths(rec: ModuleRecord, path: str, seen: set[int]) -> None:
    if id(rec) in seen:
        raise _Refused(f"module tree has a cycle at {path!r}")
    rec.path = path
    for name, child in rec.children.items():
        _assign_paths(child, f"{path}.{name}" if path else name, seen | {id(rec)})


def _tf_network(stub: _TFNetworkStub, depth: int) -> TFNetwork:
    if depth > 8:
        raise _Refused("TF networks nested too deeply")
    s = getattr(stub, "state", None)
    if s is None:
        raise _Refused("TF network without state")
    version = s.get("version")
    if type(version) is not int:
        raise _Refused("TF network without a version")
    if version < 4:
        raise _Refused(f"StyleGAN1 / TF version {version} is not supported")
    components = s.get("components") or {}
    variables = s.get("variables") or []
    static_kwargs = s.get("static_kwargs") or {}
    if not isinstance(components, dict) or not isinstance(static_kwargs, dict):
        raise _Refused("malformed TF network state")
    if not isinstance(variables, (list, tuple)):
        raise _Refused("malformed TF network variables")
    comps = {}
    for name, comp in components.items():
        if not isinstance(comp, _TFNetworkStub):
            raise _Refused(f"TF component {name!r} is not a network")
        comps[str(name)] = _tf_network(comp, depth + 1)
    var_dict: dict[str, np.ndarray] = {}
    for item in variables:
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str)):
            raise _Refused("malformed TF variable entry")
        value = item[1].array if isinstance(item[1], _NDArrayStub) else item[1]
        if isinstance(value, (np.generic, int, float)):
            value = np.asarray(value)
        if not isinstance(value, np.ndarray):
            raise _Refused(f"TF variable {item[0]!r} is not a numpy array")
        var_dict[item[0]] = value
    return TFNetwork(
        name=str(s.get("name", "")),
        version=version,
        build_func_name=str(s.get("build_func_name", "")),
        static_kwargs=_plain(static_kwargs),
        components=comps,
        variables=var_dict,
    )


_LOAD_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    UnicodeDecodeError,
    RecursionError,
    MemoryError,
    RuntimeError,
)


def read_pickle(path: str | os.PathLike) -> Any:
    """Unpickle a model file with the allowlist; modules become ModuleRecord, TF nets TFNetwork."""
    path_s = os.fspath(path)
    try:
        f = open(path_s, "rb")
    except OSError as e:
        raise ModelLoadError(f"{path_s}: cannot open ({e.strerror or e})") from None
    with f:
        head = f.read(16)
        if not head:
            raise ModelLoadError(f"{path_s}: file is empty")
        if head.startswith(b"PK\x03\x04"):
            raise ModelLoadError(
                f"{path_s}: this is a torch.save checkpoint, not an NVIDIA pickle "
                "(export the generator as an NVIDIA network pickle)"
            )
        if head[0] != 0x80 or not 2 <= head[1] <= 5:
            raise ModelLoadError(
                f"{path_s}: not a pickle file of protocol 2-5 (starts with {head[:8]!r})"
            )
        f.seek(0)
        try:
            obj = _RestrictedUnpickler(f).load()
            if obj == _TORCH_LEGACY_MAGIC:
                raise _Refused("this is a legacy torch.save checkpoint, not an NVIDIA pickle")
            result = _convert_top(obj)
        except _Refused as e:
            raise ModelLoadError(f"{path_s}: {e}") from None
        except ModelLoadError as e:
            raise ModelLoadError(f"{path_s}: {e}") from None
        except _LOAD_ERRORS as e:
            raise ModelLoadError(
                f"{path_s}: not a readable pickle (truncated or corrupt?): {type(e).__name__}: "
                f"{str(e)[:200]}"
            ) from None
    log.debug("read %s: %s", path_s, type(result).__name__)
    return result


def read_generator_record(
    path: str | os.PathLike,
) -> tuple[Literal["torch", "tf"], ModuleRecord | TFNetwork, str]:
    """Read a model file and pick its generator: (kind, record, where it came from)."""
    path_s = os.fspath(path)
    obj = read_pickle(path_s)
    if isinstance(obj, dict):
        keys = ", ".join(str(k) for k in obj)
        if "G_ema" not in obj:
            raise ModelLoadError(f"{path_s}: no 'G_ema' entry (found: {keys})")
        g = obj["G_ema"]
        if not isinstance(g, ModuleRecord):
            raise ModelLoadError(
                f"{path_s}: 'G_ema' is {type(g).__name__}, not an NVIDIA persistent network"
            )
        return "torch", g, f"snapshot dict, key G_ema (keys: {keys})"
    if isinstance(obj, ModuleRecord):
        if obj.class_name != "Generator":
            raise ModelLoadError(
                f"{path_s}: the pickle holds a bare {obj.class_name!r}, not a 'Generator'"
            )
        return "torch", obj, "bare Generator record"
    if isinstance(obj, tuple) and len(obj) == 3 and all(isinstance(x, TFNetwork) for x in obj):
        gs = obj[2]
        return "tf", gs, f"TF tuple (G, D, Gs), element 2 '{gs.name}' ({gs.build_func_name})"
    if isinstance(obj, TFNetwork):
        return "tf", obj, f"bare TF network '{obj.name}' ({obj.build_func_name})"
    raise ModelLoadError(
        f"{path_s}: unrecognised top-level object {type(obj).__name__} "
        "(expected a snapshot dict with 'G_ema', a Generator, or a TF (G, D, Gs) tuple)"
    )
