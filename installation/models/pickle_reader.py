"""Restricted reader for NVIDIA StyleGAN pickles: decodes them as data, runs no code from the file.

NVIDIA's persistence mechanism stores each network as a call that executes embedded module source.
This reader maps every allowed global name to an inert substitute (reference spec section 1.7) and
refuses everything else, so a hostile file can at most fail to load.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import math
import os
import pickle
import struct
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from installation.errors import ModelLoadError

from .pickle_machine import Budget, PickleMachine, PickleRefused, check_key, short

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


# Bounds on what a file can make this reader build (real snapshots are far below each):
MAX_TREE_NODES = 1_000_000  # objects the result expands to as a tree (a 1024 px SG3: ~10 000)
MAX_DEPTH = 64  # nesting of containers (real: under 20)
_MAX_DIMS = 8  # tensor and array dimensions (real: up to 4)
_MAX_ELEMENTS = 2**40  # any one size, stride, offset or element count
_COPY_SLACK = 1 << 20  # bytes copied beyond the file size (small files, scalars)

# Raised inside the reader; read_pickle adds the file name and raises ModelLoadError.
_Refused = PickleRefused


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
    """Stand-in for dnnlib.util.EasyDict: an empty dict filled by SETITEMS, nothing else."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            raise _Refused("refused 'dnnlib.util.EasyDict' called with arguments")
        super().__init__()

    def __reduce__(self) -> Any:  # pragma: no cover - never pickled
        return (dict, (dict(self),))


class _TFNetworkStub:
    """Stand-in for dnnlib.tflib.network.Network: captures the BUILD state dict, nothing else."""

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None

    def build(self, state: Any) -> None:
        """BUILD: keep the state dict (once)."""
        if not isinstance(state, dict) or self.state is not None:
            raise _Refused("malformed state for 'dnnlib.tflib.network.Network'")
        self.state = state


class _NDArrayType:
    """Sentinel for the global numpy.ndarray; only usable as the subtype of _reconstruct."""


class _DTypeStub:
    """Stand-in for numpy.dtype: checked against the dtype allowlist, no numpy code on raw state."""

    def __init__(self, spec: Any, align: Any = False, copy: Any = True) -> None:
        if not isinstance(spec, str) or spec not in _ALLOWED_NUMPY_DTYPES:
            allowed = ", ".join(sorted(_ALLOWED_NUMPY_DTYPES))
            raise _Refused(f"refused numpy dtype {short(spec)} (allowed: {allowed})")
        self.dtype = np.dtype(spec)

    def build(self, state: Any) -> None:
        """BUILD: the byte order from numpy's dtype state tuple; structured dtypes refused."""
        if not isinstance(state, tuple) or len(state) < 2 or not isinstance(state[1], str):
            raise _Refused("malformed numpy dtype state")
        if any(x is not None for x in state[2:5]):
            raise _Refused("refused structured numpy dtype")
        order = state[1]
        if order == ">":
            self.dtype = self.dtype.newbyteorder(">")
        elif order not in ("<", "|", "="):
            raise _Refused(f"malformed numpy dtype byte order {short(order)}")


class _NDArrayStub:
    """Stand-in for a numpy array under construction; the BUILD state is checked, then copied."""

    def __init__(self) -> None:
        self.array: np.ndarray | None = None


def _np_reconstruct(subtype: Any, shape: Any, dtype_code: Any) -> _NDArrayStub:
    """Substitute for numpy.core.multiarray._reconstruct: only plain ndarrays."""
    if subtype is not _NDArrayType:
        raise _Refused("numpy _reconstruct of a type other than numpy.ndarray")
    return _NDArrayStub()


def _ordered_dict(*args: Any) -> collections.OrderedDict:
    """Substitute for collections.OrderedDict: empty, or from a list of (key, value) pairs."""
    out: collections.OrderedDict = collections.OrderedDict()
    if not args:
        return out
    if len(args) != 1 or not isinstance(args[0], list):
        raise _Refused("refused OrderedDict called with arguments other than a list of pairs")
    for pair in args[0]:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise _Refused("refused OrderedDict item that is not a (key, value) pair")
        check_key(pair[0])
        out[pair[0]] = pair[1]
    return out


def _set(*args: Any) -> set:
    """Substitute for builtins.set (protocols 2-3 spell sets as set([items]))."""
    if not args:
        return set()
    if len(args) != 1 or not isinstance(args[0], list):
        raise _Refused("refused set called with arguments other than a list")
    for item in args[0]:
        check_key(item)
    return set(args[0])


def _rebuild_parameter(data: Any, requires_grad: Any = False, backward_hooks: Any = None) -> Any:
    """Own substitute for torch._utils._rebuild_parameter: the plain tensor."""
    if not isinstance(data, torch.Tensor):
        raise _Refused("parameter without tensor data")
    return data


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


def _global_name(module: str, name: str) -> str:
    return f"{module[:80]}.{name[:80]}"


def _storage_type(module: str, name: str) -> _StorageType:
    if module == "torch" and name in _STORAGE_DTYPES:
        return _StorageType(name, _STORAGE_DTYPES[name])
    raise _Refused(f"refused global '{_global_name(module, name)}' inside a tensor storage blob")


def _no_globals(module: str, name: str) -> Any:
    raise _Refused(f"refused global '{_global_name(module, name)}' inside a tensor storage blob")


def _storage_id(pid: Any) -> Any:
    if (
        not isinstance(pid, tuple)
        or len(pid) != 6
        or pid[0] != "storage"
        or not isinstance(pid[1], _StorageType)
        or not isinstance(pid[2], str)
        or type(pid[4]) is not int
        or not 0 <= pid[4] < _MAX_ELEMENTS
        or pid[5] is not None
    ):
        raise _Refused("malformed storage id inside a tensor storage blob")
    return pid


def _children(node: Any) -> list[Any] | None:
    """The objects a node of the unpickled graph refers to, or None for a leaf."""
    kind = type(node)
    if kind is dict or kind is _EasyDict or kind is collections.OrderedDict:
        return [*node.keys(), *node.values()]
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        return list(node)
    if kind is ModuleRecord:
        return [node.attributes, node.init_kwargs, node.parameters, node.buffers, node.children]
    if kind is _TFNetworkStub:
        return [node.state]
    return None


_CONTAINERS = frozenset(
    {dict, _EasyDict, collections.OrderedDict, list, tuple, set, frozenset, ModuleRecord,
     _TFNetworkStub}
)  # fmt: skip


def _check_structure(root: Any) -> None:
    """Refuse cycles, nesting deeper than MAX_DEPTH and graphs that expand past MAX_TREE_NODES.

    Pickle memo references let a small file describe a list holding the same list twice, 60
    levels deep; anything that walks the result as a tree would then do 2**60 steps. This walk
    visits each object once (iteratively), stops at the first path deeper than MAX_DEPTH, and
    computes the size of the tree the graph expands to.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()
    keep: list[Any] = []  # ids stay valid while the walk runs
    stack: list[tuple[Any, bool, int]] = [(root, False, 0)]
    while stack:
        node, done, depth = stack.pop()
        kids = _children(node)
        if kids is None:
            continue
        key = id(node)
        if done:
            active.discard(key)
            size = 1 + sum(sizes.get(id(k), 1) for k in kids)
            if size > MAX_TREE_NODES:
                raise _Refused(
                    f"the pickled objects expand to more than {MAX_TREE_NODES} nodes "
                    "(shared references used as a bomb?)"
                )
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in active:
            raise _Refused("the pickled objects contain a reference cycle")
        if depth > MAX_DEPTH:
            raise _Refused(f"objects nested more than {MAX_DEPTH} levels deep")
        active.add(key)
        keep.append(node)
        stack.append((node, True, depth))
        stack.extend(
            (k, False, depth + 1) for k in kids if type(k) in _CONTAINERS and id(k) not in sizes
        )


# ---------------------------------------------------------------------------------------------
# One read of one file: the allowed globals bound to its budgets


class _Session:
    """The state of reading one file: budgets, storages, and caches that keep sharing cheap."""

    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.budget = Budget()
        # bytes the substitutes may copy out of the file: each stored byte is copied once, twice
        # in protocol 2 (bytes spelled as _codecs.encode of a str); memo references could
        # otherwise copy the same bytes again and again
        self.copy_left = 2 * len(data) + _COPY_SLACK
        # elements tensor views may still take from the storages read so far
        self.view_left = 0
        self.storages: dict[int, torch.Tensor] = {}
        self.plain_cache: dict[int, tuple[Any, Any]] = {}
        self.sha_cache: dict[int, tuple[str, str]] = {}
        self.allowed: dict[tuple[str, str], Any] = {
            ("torch_utils.persistence", "_reconstruct_persistent_obj"): self.persistent_obj,
            ("dnnlib.util", "EasyDict"): _EasyDict,
            ("dnnlib.tflib.network", "Network"): _TFNetworkStub,
            ("collections", "OrderedDict"): _ordered_dict,
            ("builtins", "set"): _set,
            ("__builtin__", "set"): _set,
            ("_codecs", "encode"): self.codecs_encode,
            ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
            ("torch._utils", "_rebuild_tensor_v2"): self.rebuild_tensor_v2,
            ("torch.storage", "_load_from_bytes"): self.load_from_bytes,
            ("numpy", "dtype"): _DTypeStub,
            ("numpy", "ndarray"): _NDArrayType,
            ("numpy.core.multiarray", "scalar"): self.np_scalar,
            ("numpy._core.multiarray", "scalar"): self.np_scalar,
            ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct,
        }

    def spend(self, nbytes: int, what: str) -> None:
        """Count bytes copied out of the file; refuse when copies exceed what the file holds."""
        self.copy_left -= nbytes
        if self.copy_left < 0:
            raise _Refused(
                f"{what}: the file's data is copied more often than it is present "
                "(shared references used to multiply memory?)"
            )

    # -- the machine's hooks --------------------------------------------------------------

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise _Refused(
                f"refused global '{_global_name(module, name)}' ({_REFUSAL_HINT})"
            ) from None

    def setstate(self, obj: Any, state: Any) -> None:
        if isinstance(obj, _NDArrayStub):
            self.build_array(obj, state)
        elif isinstance(obj, (_TFNetworkStub, _DTypeStub)):
            obj.build(state)
        elif isinstance(obj, _EasyDict):
            raise _Refused("refused BUILD state on 'dnnlib.util.EasyDict'")
        else:
            raise _Refused(f"refused BUILD state on a {type(obj).__name__}")

    def newobj(self, cls: Any, args: tuple) -> Any:
        if cls is _EasyDict or cls is _TFNetworkStub:
            if args:
                raise _Refused(f"refused NEWOBJ arguments for {cls.__name__}")
            return cls()
        raise _Refused(f"refused NEWOBJ of {short(cls)}")

    def load(self) -> Any:
        """Run the outer pickle, check the shape of what it built, convert it."""
        machine = PickleMachine(
            self.data, self.find_class, self.budget, setstate=self.setstate, newobj=self.newobj
        )
        obj = machine.load()
        del machine
        if obj == _TORCH_LEGACY_MAGIC:
            raise _Refused("this is a legacy torch.save checkpoint, not an NVIDIA pickle")
        _check_structure(obj)
        return self.convert_top(obj)

    # -- numpy ----------------------------------------------------------------------------

    def build_array(self, stub: _NDArrayStub, state: Any) -> None:
        if stub.array is not None:
            raise _Refused("numpy array built twice")
        if not isinstance(state, tuple) or len(state) != 5:
            raise _Refused("malformed numpy array state")
        _version, shape, dtype, fortran, raw = state
        if not isinstance(dtype, _DTypeStub):
            raise _Refused("numpy array state without an allowed dtype")
        if (
            not isinstance(shape, tuple)
            or len(shape) > _MAX_DIMS
            or not all(type(s) is int and 0 <= s < _MAX_ELEMENTS for s in shape)
        ):
            raise _Refused("malformed numpy array shape")
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise _Refused("numpy array data is not raw bytes (object arrays are refused)")
        count = math.prod(shape)
        if count * dtype.dtype.itemsize != len(raw):
            raise _Refused(f"numpy array of shape {shape} does not match its {len(raw)} data bytes")
        self.spend(len(raw), "numpy array")
        arr = np.frombuffer(raw, dtype=dtype.dtype, count=count)
        arr = arr.reshape(shape, order="F" if fortran else "C")
        stub.array = arr.astype(dtype.dtype.newbyteorder("="), copy=True)

    def np_scalar(self, dtype: Any, raw: Any = None) -> Any:
        """Substitute for numpy.core.multiarray.scalar: a numpy scalar of an allowed dtype."""
        if not isinstance(dtype, _DTypeStub):
            raise _Refused("numpy scalar without an allowed dtype")
        if not isinstance(raw, (bytes, bytearray, memoryview)) or len(raw) != dtype.dtype.itemsize:
            raise _Refused("malformed numpy scalar data")
        return np.frombuffer(raw, dtype=dtype.dtype)[0].copy()

    def codecs_encode(self, text: Any, encoding: Any = "latin1") -> bytes:
        """Substitute for _codecs.encode, which protocol-2 pickles use to spell bytes."""
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            raise _Refused("refused _codecs.encode call other than str -> latin1 bytes")
        self.spend(len(text), "bytes")
        return text.encode("latin1")

    # -- tensors --------------------------------------------------------------------------

    def load_from_bytes(self, blob: Any) -> torch.Tensor:
        """Own parser of a legacy torch.save of one storage (spec 1.4); returns a flat tensor."""
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise _Refused("tensor storage is not a byte string")
        view = memoryview(blob)
        pos = 0

        def small(find_class: Any = _no_globals, persistent: Any = None) -> Any:
            nonlocal pos
            machine = PickleMachine(
                view, find_class, self.budget, start=pos, persistent_load=persistent
            )
            try:
                value = machine.load()
            except PickleRefused as e:
                raise _Refused(f"corrupt tensor storage blob ({e})") from None
            pos = machine.end
            return value

        if small() != _TORCH_LEGACY_MAGIC:
            raise _Refused("tensor storage blob has a wrong magic number")
        if small() != _TORCH_LEGACY_PROTOCOL:
            raise _Refused("tensor storage blob has an unsupported protocol version")
        sys_info = small()
        if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
            raise _Refused("tensor storage blob is not little-endian")
        pid = small(_storage_type, _storage_id)
        if not isinstance(pid, tuple) or len(pid) != 6 or pid[0] != "storage":
            raise _Refused("tensor storage blob does not hold a storage")
        storage_type, key, numel = pid[1], pid[2], pid[4]
        keys = small()
        if type(keys) is not list or len(keys) != 1 or keys[0] != key:
            raise _Refused("tensor storage blob has an unexpected key list")
        if len(view) - pos < 8:
            raise _Refused("tensor storage blob is truncated")
        count = int.from_bytes(view[pos : pos + 8], "little", signed=True)
        pos += 8
        if count != numel:
            raise _Refused(f"tensor storage blob holds {count} elements, its header says {numel}")
        nbytes = numel * torch.empty((), dtype=storage_type.dtype).element_size()
        if len(view) - pos < nbytes:
            raise _Refused(
                f"tensor storage blob is truncated ({numel} elements need {nbytes} bytes, "
                f"{len(view) - pos} present)"
            )
        self.spend(nbytes, "tensor storage")
        if nbytes == 0:
            storage = torch.empty(0, dtype=storage_type.dtype)
        else:
            storage = torch.frombuffer(
                bytearray(view[pos : pos + nbytes]), dtype=storage_type.dtype
            )
        self.storages[id(storage)] = storage
        self.view_left += numel
        return storage

    def rebuild_tensor_v2(
        self,
        storage: Any,
        storage_offset: Any,
        size: Any,
        stride: Any,
        requires_grad: Any = False,
        backward_hooks: Any = None,
        metadata: Any = None,
    ) -> torch.Tensor:
        """Own substitute for torch._utils._rebuild_tensor_v2: a view checked against its storage.

        The view must lie inside the storage and must not overlap itself (no stride 0 or
        interleaved strides), and all views together take no more elements than the storages
        hold, so no cast or copy can turn a few stored bytes into gigabytes.
        """
        if not isinstance(storage, torch.Tensor) or self.storages.get(id(storage)) is not storage:
            raise _Refused("tensor without a storage")
        if not isinstance(size, tuple) or not isinstance(stride, tuple) or len(size) != len(stride):
            raise _Refused("malformed tensor size/stride")
        if len(size) > _MAX_DIMS:
            raise _Refused(f"tensor with {len(size)} dimensions (limit {_MAX_DIMS})")
        if type(storage_offset) is not int or not 0 <= storage_offset < _MAX_ELEMENTS:
            raise _Refused("malformed tensor storage offset")
        if not all(type(s) is int and 0 <= s < _MAX_ELEMENTS for s in size + stride):
            raise _Refused(
                f"malformed tensor size/stride {short(size)} {short(stride)} "
                "(negative or not integers)"
            )
        where = f"tensor of size {size}, stride {stride}, offset {storage_offset}"
        available = storage.numel()
        count = math.prod(size)
        if count == 0:
            if storage_offset > available:
                raise _Refused("tensor storage offset outside its storage")
            return torch.empty(
                size, dtype=torch.float32 if storage.is_floating_point() else storage.dtype
            )
        extent = 1  # elements spanned by the dimensions checked so far
        for n, s in sorted(
            ((n, s) for n, s in zip(size, stride, strict=True) if n > 1), key=lambda p: p[1]
        ):
            if s < extent:
                raise _Refused(f"{where} overlaps itself (stride 0 or interleaved strides)")
            extent = s * (n - 1) + extent
        if storage_offset + extent > available:
            raise _Refused(f"{where} reads outside its storage of {available} elements")
        if count > self.view_left:
            raise _Refused(
                f"{where}: tensors take more elements than their storages hold "
                "(one storage shared by many tensors?)"
            )
        self.view_left -= count
        t = torch.as_strided(storage, size, stride, storage_offset)
        if t.is_floating_point() and t.dtype != torch.float32:
            t = t.float()
        elif not t.is_contiguous():
            t = t.contiguous()
        return t

    # -- NVIDIA's persistent modules ------------------------------------------------------

    def persistent_obj(self, meta: Any) -> ModuleRecord:
        """Substitute for torch_utils.persistence._reconstruct_persistent_obj: a ModuleRecord."""
        if not isinstance(meta, dict):
            raise _Refused("persistent object meta is not a dict")
        if meta.get("type") != "class":
            raise _Refused(f"persistent object type {short(meta.get('type'))} is not supported")
        if meta.get("version") != _PERSISTENT_VERSION:
            raise _Refused(
                f"persistent object version {short(meta.get('version'))} is not supported "
                f"(expected {_PERSISTENT_VERSION})"
            )
        class_name = meta.get("class_name")
        state = meta.get("state")
        src = meta.get("module_src", "")
        if (
            not isinstance(class_name, str)
            or not isinstance(state, dict)
            or not isinstance(src, str)
        ):
            raise _Refused("persistent object meta lacks class_name/state/module_src")
        if len(class_name) > 200:
            raise _Refused(f"persistent object class name {short(class_name)} is too long")
        cached = self.sha_cache.get(id(src))
        if cached is None or cached[0] is not src:
            cached = (src, hashlib.sha1(src.encode("utf-8", "surrogatepass")).hexdigest())
            self.sha_cache[id(src)] = cached
        sha1 = cached[1]

        def tensors(key: str) -> dict[str, torch.Tensor]:
            src_dict = state.get(key) or {}
            if not isinstance(src_dict, dict):
                raise _Refused(f"{class_name}.{key} is not a dict")
            out = {}
            for name, t in src_dict.items():
                if t is None:
                    continue
                if not isinstance(name, str) or not isinstance(t, torch.Tensor):
                    raise _Refused(f"{class_name}.{key}[{short(name)}] is not a tensor")
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
                raise _Refused(f"{class_name}._modules[{short(name)}] is not a persistent module")
            children[name] = child
        init_kwargs = state.get("_init_kwargs") or {}
        if not isinstance(init_kwargs, dict):
            raise _Refused(f"{class_name}._init_kwargs is not a dict")
        attributes = {
            k: self.plain(v)
            for k, v in state.items()
            if isinstance(k, str) and k not in _BOOKKEEPING and not k.startswith("_")
        }
        return ModuleRecord(
            class_name=class_name,
            path="",
            module_src_sha1=sha1,
            attributes=attributes,
            init_kwargs=self.plain(init_kwargs),
            parameters=tensors("_parameters"),
            buffers=tensors("_buffers"),
            children=children,
        )

    # -- conversion to plain data ---------------------------------------------------------

    def plain(self, value: Any, depth: int = 0) -> Any:
        """value with EasyDicts as dicts, numpy scalars as Python, numpy int arrays as lists.

        Shared objects stay shared (a cache by identity), so the work is linear in the file.
        """
        if depth > MAX_DEPTH:
            raise _Refused(f"objects nested more than {MAX_DEPTH} levels deep")
        kind = type(value)
        if kind in _PLAIN_LEAVES:
            return value
        cached = self.plain_cache.get(id(value))
        if cached is not None and cached[0] is value:
            return cached[1]
        out = self._plain(value, depth)
        self.plain_cache[id(value)] = (value, out)
        return out

    def _plain(self, value: Any, depth: int) -> Any:
        if isinstance(value, _NDArrayStub):
            if value.array is None:
                raise _Refused("numpy array without data")
            value = value.array
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist() if value.dtype.kind in "iub" and value.size <= 4096 else value
        if isinstance(value, memoryview):
            self.spend(len(value), "bytes")
            return bytes(value)
        if isinstance(value, (_DTypeStub, _TFNetworkStub, _StorageType)) or callable(value):
            raise _Refused(f"unexpected {type(value).__name__} in module state")
        if isinstance(value, collections.OrderedDict):
            return collections.OrderedDict((k, self.plain(v, depth + 1)) for k, v in value.items())
        if isinstance(value, dict):
            return {k: self.plain(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [self.plain(v, depth + 1) for v in value]
        if isinstance(value, tuple):
            return tuple(self.plain(v, depth + 1) for v in value)
        if isinstance(value, (set, frozenset)):
            return type(value)(self.plain(v, depth + 1) for v in value)
        return value

    def convert_top(self, obj: Any) -> Any:
        """Replace TF stubs by TFNetwork and give module records their paths."""
        if isinstance(obj, ModuleRecord):
            _assign_paths(obj, "", set())
            return obj
        if isinstance(obj, _TFNetworkStub):
            return self.tf_network(obj, depth=0)
        if type(obj) in (dict, _EasyDict, collections.OrderedDict):
            return {k: self.convert_top(v) for k, v in obj.items()}
        if isinstance(obj, tuple):
            return tuple(self.convert_top(v) for v in obj)
        if isinstance(obj, list):
            return [self.convert_top(v) for v in obj]
        return self.plain(obj)

    def tf_network(self, stub: _TFNetworkStub, depth: int) -> TFNetwork:
        """A TFNetwork from the BUILD state of a dnnlib.tflib.network.Network stand-in."""
        if depth > 8:
            raise _Refused("TF networks nested too deeply")
        s = stub.state
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
        name = s.get("name", "")
        build_func_name = s.get("build_func_name", "")
        if not isinstance(components, dict) or not isinstance(static_kwargs, dict):
            raise _Refused("malformed TF network state")
        if not isinstance(name, str) or not isinstance(build_func_name, str):
            raise _Refused("TF network name or build function is not a string")
        if not isinstance(variables, (list, tuple)):
            raise _Refused("malformed TF network variables")
        comps = {}
        for cname, comp in components.items():
            if not isinstance(comp, _TFNetworkStub):
                raise _Refused(f"TF component {short(cname)} is not a network")
            comps[str(cname)] = self.tf_network(comp, depth + 1)
        var_dict: dict[str, np.ndarray] = {}
        for item in variables:
            if not (
                isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str)
            ):
                raise _Refused("malformed TF variable entry")
            value = item[1].array if isinstance(item[1], _NDArrayStub) else item[1]
            if isinstance(value, (np.generic, int, float)) and not isinstance(value, bool):
                value = np.asarray(value)
            if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiub":
                raise _Refused(f"TF variable {short(item[0])} is not a numpy array")
            var_dict[item[0]] = value
        return TFNetwork(
            name=name,
            version=version,
            build_func_name=build_func_name,
            static_kwargs=self.plain(static_kwargs),
            components=comps,
            variables=var_dict,
        )


_PLAIN_LEAVES = frozenset({str, int, float, bool, type(None), bytes})


def _assign_paths(rec: ModuleRecord, path: str, seen: set[int]) -> None:
    """Give every record its dotted path; a record reachable twice is refused (trees only)."""
    if id(rec) in seen:
        raise _Refused(f"module {path or '<root>'!r} appears twice in the module tree")
    seen.add(id(rec))
    rec.path = path
    for name, child in rec.children.items():
        _assign_paths(child, f"{path}.{name}" if path else name, seen)


_LOAD_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    UnicodeError,
    RecursionError,
    MemoryError,
    RuntimeError,
    struct.error,
    NotImplementedError,
)


def _check_head(head: bytes, path_s: str) -> None:
    if not head:
        raise ModelLoadError(f"{path_s}: file is empty")
    if head.startswith(b"PK\x03\x04"):
        raise ModelLoadError(
            f"{path_s}: this is a torch.save checkpoint, not an NVIDIA pickle "
            "(export the generator as an NVIDIA network pickle)"
        )
    if len(head) < 2 or head[0] != 0x80 or not 2 <= head[1] <= 5:
        raise ModelLoadError(
            f"{path_s}: not a pickle file of protocol 2-5 (starts with {head[:8]!r})"
        )


def read_pickle(path: str | os.PathLike) -> Any:
    """Unpickle a model file with the allowlist; modules become ModuleRecord, TF nets TFNetwork.

    The work is bounded by the file's size: see pickle_machine.py and _check_structure.
    """
    path_s = os.fspath(path)
    try:
        f = open(path_s, "rb")
    except OSError as e:
        raise ModelLoadError(f"{path_s}: cannot open ({e.strerror or e})") from None
    with f:
        try:
            head = f.read(16)
            _check_head(head, path_s)
            data = head + f.read()  # read only once the start looks like a pickle
        except OSError as e:
            raise ModelLoadError(f"{path_s}: cannot read ({e.strerror or e})") from None
    try:
        result = _Session(memoryview(data)).load()
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
        names = [short(k, 40) if not isinstance(k, str) else k[:40] for k in obj]
        keys = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
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
                f"{path_s}: the pickle holds a bare {short(obj.class_name)}, not a 'Generator'"
            )
        return "torch", obj, "bare Generator record"
    if isinstance(obj, tuple) and len(obj) == 3 and all(isinstance(x, TFNetwork) for x in obj):
        gs = obj[2]
        return (
            "tf",
            gs,
            f"TF tuple (G, D, Gs), element 2 '{gs.name[:80]}' ({gs.build_func_name[:80]})",
        )
    if isinstance(obj, TFNetwork):
        return "tf", obj, f"bare TF network '{obj.name[:80]}' ({obj.build_func_name[:80]})"
    raise ModelLoadError(
        f"{path_s}: unrecognised top-level object {type(obj).__name__} "
        "(expected a snapshot dict with 'G_ema', a Generator, or a TF (G, D, Gs) tuple)"
    )
