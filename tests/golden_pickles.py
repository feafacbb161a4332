"""Builders for NVIDIA-format test pickles from the golden data (not a test module).

Rebuilds snapshot pickles the way tests/golden/README.md describes: stand-in modules for
torch_utils.persistence, dnnlib.util and dnnlib.tflib.network are in sys.modules only while dumping.
Also builds hostile pickles whose payloads would create a marker file if anything executed them.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import os
import pickle
import pickletools
import struct
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

GOLDEN = Path(__file__).parent / "golden"
MODELS = ["sg2_32", "sg2_orig_32", "sg2_resnet_32", "sg2ada_cond_32", "sg3t_32", "sg3r_32"]
TF_MODEL = "tf_sg2_32"

_TORCH1_DROPPED_KEYS = {
    "_backward_pre_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks_with_kwargs",
    "_state_dict_pre_hooks",
    "_load_state_dict_post_hooks",
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


# ---------------------------------------------------------------------------------------------
# Stand-in modules, present in sys.modules only while dumping


def _reconstruct_persistent_obj(meta: dict) -> Any:
    """Stand-in; never called (the pickles are only written here)."""
    raise RuntimeError("stand-in, not for loading")


class EasyDict(dict):
    """Stand-in for dnnlib.util.EasyDict."""


class Network:
    """Stand-in for dnnlib.tflib.network.Network; pickles as NEWOBJ + BUILD(state)."""

    def __init__(self, state: dict) -> None:
        self._state = state

    def __getstate__(self) -> dict:
        return self._state


def _np_scalar(*args: Any) -> Any:
    """Stand-in for numpy.core.multiarray.scalar (numpy 2 would write numpy._core)."""
    raise RuntimeError("stand-in, not for loading")


def _np_reconstruct(*args: Any) -> Any:
    """Stand-in for numpy.core.multiarray._reconstruct."""
    raise RuntimeError("stand-in, not for loading")


_reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
EasyDict.__module__ = "dnnlib.util"
EasyDict.__qualname__ = "EasyDict"
Network.__module__ = "dnnlib.tflib.network"
Network.__qualname__ = "Network"
_np_scalar.__module__ = "numpy.core.multiarray"
_np_scalar.__name__ = _np_scalar.__qualname__ = "scalar"
_np_reconstruct.__module__ = "numpy.core.multiarray"
_np_reconstruct.__name__ = _np_reconstruct.__qualname__ = "_reconstruct"


@contextlib.contextmanager
def _stand_in_modules() -> Iterator[None]:
    mods = {
        "torch_utils": types.ModuleType("torch_utils"),
        "torch_utils.persistence": types.ModuleType("torch_utils.persistence"),
        "dnnlib": types.ModuleType("dnnlib"),
        "dnnlib.util": types.ModuleType("dnnlib.util"),
        "dnnlib.tflib": types.ModuleType("dnnlib.tflib"),
        "dnnlib.tflib.network": types.ModuleType("dnnlib.tflib.network"),
        "numpy.core.multiarray": types.ModuleType("numpy.core.multiarray"),
    }
    mods["torch_utils.persistence"]._reconstruct_persistent_obj = _reconstruct_persistent_obj
    mods["dnnlib.util"].EasyDict = EasyDict
    mods["dnnlib.tflib.network"].Network = Network
    mods["numpy.core.multiarray"].scalar = _np_scalar
    mods["numpy.core.multiarray"]._reconstruct = _np_reconstruct
    saved = {k: sys.modules.get(k) for k in mods}
    sys.modules.update(mods)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


class _Pickler(pickle.Pickler):
    """Pickler that spells numpy scalars/arrays with the numpy 1.x global names NVIDIA files use."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, np.generic) and not isinstance(obj, np.ndarray):
            return (_np_scalar, (obj.dtype, obj.tobytes()))
        if type(obj) is np.ndarray:
            state = (1, obj.shape, obj.dtype, False, np.ascontiguousarray(obj).tobytes())
            return (_np_reconstruct, (np.ndarray, (0,), b"b"), state)
        return NotImplemented


def _dump(obj: Any, out_path: str | os.PathLike, protocol: int) -> None:
    with _stand_in_modules(), open(out_path, "wb") as f:
        _Pickler(f, protocol=protocol).dump(obj)


class _Persistent:
    """Pickles as torch_utils.persistence._reconstruct_persistent_obj(meta), REDUCE, no BUILD."""

    def __init__(self, meta: dict) -> None:
        self.meta = meta

    def __reduce__(self) -> tuple:
        return (_reconstruct_persistent_obj, (self.meta,))


# ---------------------------------------------------------------------------------------------
# Typed values from network.json descriptors


def _typed(value: Any, desc: Any) -> Any:
    if isinstance(desc, str):
        conv = {
            "int": int,
            "float": float,
            "bool": bool,
            "str": str,
            "NoneType": lambda v: None,
            "numpy.float64": np.float64,
            "numpy.float32": np.float32,
            "numpy.bool_": np.bool_,
            "numpy.int64": np.int64,
        }
        return conv[desc](value)
    kind = desc["type"]
    if kind == "numpy.ndarray":
        return np.asarray(value, dtype=desc["dtype"]).reshape(desc["shape"])
    items = desc.get("items")
    if kind in ("list", "tuple", "set"):
        seq = [_typed(v, d) for v, d in zip(value, items, strict=True)]
        return {"list": list, "tuple": tuple, "set": set}[kind](seq)
    cls = {
        "dict": dict,
        "dnnlib.util.EasyDict": EasyDict,
        "collections.OrderedDict": (collections.OrderedDict),
    }[kind]
    return cls((k, _typed(value[k], items[k])) for k in items)


def load_network_json(model: str) -> dict:
    """The network.json of one golden model."""
    return json.loads((GOLDEN / model / "network.json").read_text())


def _module_tree(
    records: list[dict],
    common: dict,
    values: dict[str, np.ndarray] | None,
    buffer_values: dict[str, np.ndarray] | None,
    torch1_style: bool,
) -> _Persistent:
    """Persistent object tree for one network (records in named_modules order, path '' = root)."""
    by_path = {r["path"]: r for r in records}
    sources: dict[str, str] = {}
    container = collections.OrderedDict if torch1_style else dict

    def tensor(entry: dict, table: dict[str, np.ndarray] | None) -> torch.Tensor:
        if table is None:
            arr = np.zeros(entry["shape"], dtype=np.float32)
        else:
            arr = np.array(table[entry["key"]], dtype=np.float32, copy=True)
            assert list(arr.shape) == entry["shape"], entry["key"]
        return torch.from_numpy(arr)

    def build(path: str) -> _Persistent:
        rec = by_path[path]
        src = sources.setdefault(
            rec["module"], f"# source of {rec['module']} not included (test stand-in)\n"
        )
        params = container()
        for p in rec["parameters"]:
            if "shape" not in p:
                params[p["name"]] = None
                continue
            params[p["name"]] = torch.nn.Parameter(tensor(p, values), requires_grad=False)
        bufs = container()
        for b in rec["buffers"]:
            bufs[b["name"]] = None if "shape" not in b else tensor(b, buffer_values)
        mods = container()
        for name in rec["modules"]:
            mods[name] = build(f"{path}.{name}" if path else name)
        state: dict[str, Any] = {}
        for key in rec["state_keys"]:
            if key == "training":
                state[key] = False
            elif key == "_parameters":
                state[key] = params
            elif key == "_buffers":
                state[key] = bufs
            elif key == "_modules":
                state[key] = mods
            elif key == "_init_args":
                state[key] = _typed(rec["init_args"], rec["init_args_type"])
            elif key == "_init_kwargs":
                state[key] = _typed(rec["init_kwargs"], rec["init_kwargs_type"])
            elif key in common["torch_internal"]:
                if torch1_style and key in _TORCH1_DROPPED_KEYS:
                    continue
                state[key] = _typed(
                    None
                    if key == "_is_full_backward_hook"
                    else ([] if common["torch_internal"][key].get("type") == "set" else {}),
                    common["torch_internal"][key],
                )
            else:
                state[key] = _typed(rec["attributes"][key], rec["attribute_types"][key])
        meta = {
            "type": rec["record"]["type"],
            "version": rec["record"]["version"],
            "module_src": src,
            "class_name": rec["class_name"],
            "state": state,
        }
        return _Persistent(meta)

    return build("")


def _npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def build_torch_pickle(
    model: str,
    out_path: str | os.PathLike,
    *,
    bare: bool = False,
    protocol: int = 4,
    torch1_style: bool = False,
    edit: Callable[[dict, dict[str, np.ndarray]], None] | None = None,
) -> Path:
    """Write an NVIDIA-format snapshot (or bare G_ema) pickle for a golden torch model.

    `edit(network_json, g_ema_values)` may change both in place first (tests of bad files).
    """
    net = load_network_json(model)
    common = net["torch_module_state_common"]
    g_ema_vals = _npz(GOLDEN / model / "params.npz")
    if edit is not None:
        edit(net, g_ema_vals)
    g_vals = _npz(GOLDEN / model / "G_params.npz")
    if torch1_style:
        protocol = 3
    g_ema = _module_tree(net["G_ema"], common, g_ema_vals, g_ema_vals, torch1_style)
    if bare:
        obj: Any = g_ema
    else:
        snap = net["snapshot"]
        parts = {
            "G": lambda: _module_tree(net["G_ema"], common, g_vals, g_ema_vals, torch1_style),
            "D": lambda: _module_tree(net["D"], common, None, None, torch1_style),
            "G_ema": lambda: g_ema,
            "augment_pipe": lambda: None,
            "training_set_kwargs": lambda: _typed(
                snap["training_set_kwargs"], snap["training_set_kwargs_type"]
            ),
        }
        obj = {k: parts[k]() for k in snap["keys"]}
    _dump(obj, out_path, protocol)
    return Path(out_path)


# ---------------------------------------------------------------------------------------------
# TF pickle


def build_tf_pickle(
    out_path: str | os.PathLike,
    *,
    version: int = 4,
    edit: Callable[[dict], None] | None = None,
) -> Path:
    """Write a TF-format (G, D, Gs) pickle for tf_sg2_32 (version < 4 fakes a StyleGAN1 file).

    `edit(tf_json)` may change the networks' descriptions in place first (tests of bad files).
    """
    net = load_network_json(TF_MODEL)
    tf = net["tf"]
    if edit is not None:
        edit(tf)
    gs_vals = _npz(GOLDEN / TF_MODEL / "params.npz")
    g_vals = _npz(GOLDEN / TF_MODEL / "G_params.npz")

    def network(desc: dict, values: dict[str, np.ndarray] | None, prefix: str) -> Network:
        variables = []
        for v in desc["variables"]:
            if values is None:
                arr = np.zeros(v["shape"], dtype=v["dtype"])
            else:
                arr = np.asarray(values[prefix + v["name"]], dtype=v["dtype"])
            val = np.float32(arr) if v["python_type"] == "numpy.float32" else arr
            variables.append((v["name"], val))
        state = {
            "version": version,
            "name": desc["name"],
            "static_kwargs": _typed(desc["static_kwargs"], desc["static_kwargs_type"]),
            "components": {
                cname: network(c, values, f"{prefix}{cname}/")
                for cname, c in desc["components"].items()
            },
            "build_module_src": "# TF-era source not included (test stand-in)\n",
            "build_func_name": desc["build_func_name"],
            "variables": variables,
        }
        return Network({k: state[k] for k in desc["state_keys"]})

    nets = {
        "G": network(tf["G"], g_vals, ""),
        "D": network(tf["D"], None, ""),
        "Gs": network(tf["Gs"], gs_vals, ""),
    }
    _dump(tuple(nets[k] for k in tf["tuple_order"]), out_path, 4)
    return Path(out_path)


# ---------------------------------------------------------------------------------------------
# Opcode scan


def pickle_globals(data: bytes) -> tuple[set[str], set[str], set[str]]:
    """(outer globals, globals inside storage blobs, opcode names) of a pickle byte string."""
    outer, ops = _scan(data)
    inner: set[str] = set()
    for op, arg, _ in pickletools.genops(data):
        is_bytes = op.name in ("BINBYTES", "SHORT_BINBYTES", "BINBYTES8")
        if is_bytes and arg.startswith(b"\x80\x02\x8a"):
            f = io.BytesIO(arg)
            for _ in range(5):  # magic, protocol, sys info, storage id, key list
                start = f.tell()
                for _op, _arg, _pos in pickletools.genops(f):
                    pass
                inner |= _scan(arg[start : f.tell()])[0]
    return outer, inner, ops


def _scan(data: bytes) -> tuple[set[str], set[str]]:
    found: set[str] = set()
    ops: set[str] = set()
    recent: list[Any] = []
    memo: dict[int, Any] = {}
    no_push = {"MEMOIZE", "FRAME", "PROTO", "PUT", "BINPUT", "LONG_BINPUT", "MARK", "STOP"}
    for op, arg, _ in pickletools.genops(data):
        ops.add(op.name)
        if op.name == "GLOBAL":
            found.add(arg.replace(" ", "."))
            recent.append(None)
        elif op.name == "STACK_GLOBAL":
            found.add(f"{recent[-2]}.{recent[-1]}")
            recent.append(None)
        elif op.name == "MEMOIZE":
            memo[len(memo)] = recent[-1] if recent else None
        elif op.name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = recent[-1] if recent else None
        elif op.name in ("GET", "BINGET", "LONG_BINGET"):
            recent.append(memo.get(arg))
        elif op.name in no_push:
            pass
        else:
            recent.append(arg if isinstance(arg, str) else None)
    return found, ops


def expected_outer_globals(model: str) -> set[str]:
    """The outer global names pickle_layout.json lists for a model's rebuilt pickle."""
    layout = json.loads((GOLDEN / "pickle_layout.json").read_text())
    return set(layout["models"][model]["rebuilt_from_golden_files"]["outer_globals"])


# ---------------------------------------------------------------------------------------------
# Hostile pickles

# name -> text the ModelLoadError message must contain
HOSTILE_EXPECTED: dict[str, str] = {
    "os_system": "'os.system'",
    "posix_system": "'posix.system'",
    "builtins_eval": "'builtins.eval'",
    "builtins_exec": "'builtins.exec'",
    "subprocess_popen": "'subprocess.Popen'",
    "importlib_import_module": "'importlib.import_module'",
    "builtins_getattr": "'builtins.getattr'",
    "torch_load": "'torch.load'",
    "nested_reduce": "'posix.system'",
    "storage_blob_payload": "'os.system'",
    "storage_blob_type_payload": "'os.system'",
    "storage_blob_persistent_payload": "malformed storage id",
    "persistent_load": "persistent id",
    "easydict_build_global": "'os.system'",
    "easydict_build_state": "BUILD",
    "tf_network_payload": "'os.system'",
    "numpy_object_dtype": "dtype 'O'",
    "numpy_reconstruct_subtype": "numpy.ndarray",
    "tensor_out_of_bounds": "outside its storage",
    "protocol2_builtin_payload": "'__builtin__.eval'",
}


def _s(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _call(module: str, name: str, arg: bytes) -> bytes:
    """Protocol-2 fragment: GLOBAL module.name called with one pre-encoded argument."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n" + arg + b"\x85R"


def _legacy_blob(storage_pickle: bytes) -> bytes:
    """A storage blob (legacy torch.save layout) around a given storage-id pickle."""
    out = pickle.dumps(_LEGACY_MAGIC, protocol=2) + pickle.dumps(1001, protocol=2)
    out += pickle.dumps(
        {
            "protocol_version": 1001,
            "little_endian": True,
            "type_sizes": {"short": 2, "int": 4, "long": 4},
        },
        protocol=2,
    )
    out += storage_pickle + pickle.dumps(["0"], protocol=2)
    return out + struct.pack("<q", 1) + struct.pack("<f", 1.0)


def _load_from_bytes_call(blob: bytes) -> bytes:
    return (
        b"\x80\x03ctorch.storage\n_load_from_bytes\nB"
        + struct.pack("<I", len(blob))
        + blob
        + (b"\x85R.")
    )


def build_hostile_pickles(directory: str | os.PathLike) -> dict[str, Path]:
    """Write hostile pickles into directory; each would touch directory/PWNED_<name> if run."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}

    def marker(name: str) -> str:
        return str(d / f"PWNED_{name}")

    def touch_cmd(name: str) -> str:
        return f"touch '{marker(name)}'"

    def write(name: str, data: bytes) -> None:
        p = d / f"{name}.pkl"
        p.write_bytes(data)
        out[name] = p

    write("os_system", b"\x80\x02" + _call("os", "system", _s(touch_cmd("os_system"))) + b".")
    write(
        "posix_system", b"\x80\x02" + _call("posix", "system", _s(touch_cmd("posix_system"))) + b"."
    )
    py = f"__import__('os').system({touch_cmd('builtins_eval')!r})"
    write("builtins_eval", b"\x80\x02" + _call("builtins", "eval", _s(py)) + b".")
    py = f"__import__('os').system({touch_cmd('builtins_exec')!r})"
    write("builtins_exec", b"\x80\x02" + _call("builtins", "exec", _s(py)) + b".")
    popen_args = b"]" + b"(" + _s("touch") + _s(marker("subprocess_popen")) + b"e"
    write("subprocess_popen", b"\x80\x02" + _call("subprocess", "Popen", popen_args) + b".")
    # getattr(importlib.import_module('os'), 'system')('touch ...')
    imp = _call("importlib", "import_module", _s("os"))
    write(
        "importlib_import_module",
        b"\x80\x02"
        + imp  # module resolved first, kept in memo slot 0
        + b"q\x000"
        + b"cbuiltins\ngetattr\n"
        + b"(h\x00"
        + _s("system")
        + b"tR"
        + _s(touch_cmd("importlib_import_module"))
        + b"\x85R.",
    )
    write(
        "builtins_getattr",
        b"\x80\x02cbuiltins\ngetattr\n("
        + imp
        + _s("system")
        + b"tR"
        + _s(touch_cmd("builtins_getattr"))
        + b"\x85R.",
    )
    write("torch_load", b"\x80\x02" + _call("torch", "load", _s(str(d / "other.pt"))) + b".")
    py = f"__import__('os').system({touch_cmd('protocol2_builtin_payload')!r})"
    write("protocol2_builtin_payload", b"\x80\x02" + _call("__builtin__", "eval", _s(py)) + b".")

    # An allowed-looking snapshot dict whose deep state holds a reduce of os.system.
    class _Evil:
        def __reduce__(self) -> tuple:
            return (os.system, (touch_cmd("nested_reduce"),))

    inner = _Persistent(
        {
            "type": "class",
            "version": 6,
            "module_src": "# x\n",
            "class_name": "SynthesisLayer",
            "state": {
                "training": False,
                "_parameters": {},
                "_buffers": {},
                "_modules": {},
                "conv_clamp": {"deep": [1, _Evil()]},
            },
        }
    )
    root = _Persistent(
        {
            "type": "class",
            "version": 6,
            "module_src": "# x\n",
            "class_name": "Generator",
            "state": {
                "training": False,
                "_parameters": {},
                "_buffers": {},
                "_modules": {"synthesis": inner},
                "_init_kwargs": EasyDict(),
            },
        }
    )
    p = d / "nested_reduce.pkl"
    _dump({"G": None, "D": None, "G_ema": root, "augment_pipe": None}, p, 4)
    out["nested_reduce"] = p

    # Storage blobs whose inner pickles carry payloads.
    payload = b"\x80\x02" + _call("os", "system", _s(touch_cmd("storage_blob_payload"))) + b"."
    write("storage_blob_payload", _load_from_bytes_call(_legacy_blob(payload)))
    type_payload = (
        b"\x80\x02("
        + _s("storage")
        + _call("os", "system", _s(touch_cmd("storage_blob_type_payload")))
        + _s("0")
        + _s("cpu")
        + b"K\x01Nt"
        + b"Q."
    )
    write("storage_blob_type_payload", _load_from_bytes_call(_legacy_blob(type_payload)))
    pers_payload = b"\x80\x02" + _s(touch_cmd("storage_blob_persistent_payload")) + b"Q."
    write("storage_blob_persistent_payload", _load_from_bytes_call(_legacy_blob(pers_payload)))

    # Outer persistent id (a loader that forwards persistent ids could be tricked into running it).
    write("persistent_load", b"\x80\x02" + _s(touch_cmd("persistent_load")) + b"Q.")

    # EasyDict with BUILD: state smuggling a callable; and a plain BUILD on EasyDict.
    ed = b"cdnnlib.util\nEasyDict\n)\x81"
    write(
        "easydict_build_global",
        b"\x80\x02" + ed + b"}(" + _s("__setstate__") + b"cos\nsystem\n" + b"ub" + b".",
    )
    write(
        "easydict_build_state", b"\x80\x02" + ed + b"}(" + _s("__class__") + _s("x") + b"ub" + b"."
    )

    # TF network whose state hides a payload.
    write(
        "tf_network_payload",
        b"\x80\x02cdnnlib.tflib.network\nNetwork\n)\x81}("
        + _s("version")
        + b"K\x04"
        + _s("name")
        + _call("os", "system", _s(touch_cmd("tf_network_payload")))
        + b"ub.",
    )

    # numpy: object dtype, and _reconstruct of a non-ndarray subtype.
    write("numpy_object_dtype", b"\x80\x02cnumpy\ndtype\n(" + _s("O") + b"\x89\x88tR.")
    write(
        "numpy_reconstruct_subtype",
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\n("
        + b"ccollections\nOrderedDict\n"
        + b"K\x00\x85"
        + b"C\x01b"
        + b"tR.",
    )

    # A tensor whose size/stride would read past its storage.
    sid = (
        b"\x80\x02("
        + _s("storage")
        + b"ctorch\nFloatStorage\n"
        + _s("0")
        + _s("cpu")
        + b"K\x01Nt"
        + b"Q."
    )
    blob = _legacy_blob(sid)
    write(
        "tensor_out_of_bounds",
        b"\x80\x03ctorch._utils\n_rebuild_tensor_v2\n("
        + b"ctorch.storage\n_load_from_bytes\nB"
        + struct.pack("<I", len(blob))
        + blob
        + b"\x85R"
        + b"K\x00"
        + b"M\x00\x04\x85"
        + b"K\x01\x85"
        + b"\x89"
        + b"ccollections\nOrderedDict\n)R"
        + b"tR.",
    )
    return out


def module_src_exec_pickle(path: str | os.PathLike) -> str:
    """A bare record whose module_src would touch a marker if exec'd; returns the marker path."""
    marker = str(Path(path).parent / "PWNED_module_src")
    src = f"import os\nos.system({('touch ' + repr(marker))!r})\n"
    rec = _Persistent(
        {
            "type": "class",
            "version": 6,
            "module_src": src,
            "class_name": "Generator",
            "state": {
                "training": False,
                "_parameters": {},
                "_buffers": {},
                "_modules": {},
                "z_dim": 4,
                "_init_kwargs": EasyDict(z_dim=4),
            },
        }
    )
    _dump(rec, path, 4)
    return marker
