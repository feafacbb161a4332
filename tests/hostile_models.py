"""Hostile model files (each at most 10 MB) and a probe that loads each in its own process.

Not a test module: tests/unit/models/test_hostile_models.py and benchmarks/hostile_models.py
use it. Every file here aims at one way a loader can be made to freeze or run out of memory:
stride tricks, shared references that multiply work or memory, colliding dict keys, deep
nesting, long opcode streams, and hyperparameters far outside any real model.

    python tests/hostile_models.py --probe FILE...   # one JSON line per file (used by probe())
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAX_FILE_BYTES = 10 * 2**20
HANG_S = 30.0  # a load still running after this is reported as a hang

# ---------------------------------------------------------------------------------------------
# Pickle fragments (protocol 2 opcodes, written by hand)

PROTO = b"\x80\x02"
STOP = b"."
MARK = b"("
TUPLE = b"t"
REDUCE = b"R"
NONE = b"N"
FALSE = b"\x89"
EMPTY_DICT = b"}"
EMPTY_LIST = b"]"
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_COLLIDE = 2**61 - 1  # hash(k * (2**61 - 1)) == 0 for every int k


def glob(module: str, name: str) -> bytes:
    """GLOBAL module.name."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def text(value: str) -> bytes:
    """BINUNICODE."""
    raw = value.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def integer(value: int) -> bytes:
    """BININT for 32-bit values, else LONG1."""
    if -(2**31) <= value < 2**31:
        return b"J" + struct.pack("<i", value)
    raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def raw_bytes(value: bytes) -> bytes:
    """BINBYTES."""
    return b"B" + struct.pack("<I", len(value)) + value


def tup(*items: bytes) -> bytes:
    """A tuple of the encoded items."""
    return MARK + b"".join(items) + TUPLE


def call(func: bytes, *args: bytes) -> bytes:
    """func(*args) by REDUCE."""
    return func + tup(*args) + REDUCE


def put(index: int) -> bytes:
    """LONG_BINPUT."""
    return b"r" + struct.pack("<I", index)


def get(index: int) -> bytes:
    """LONG_BINGET."""
    return b"j" + struct.pack("<I", index)


def storage_blob(storage: str, numel: int, data: bytes) -> bytes:
    """The legacy torch.save of one storage, as NVIDIA's pickles embed it (spec 1.4)."""
    import pickle

    sid = PROTO + tup(text("storage"), glob("torch", storage), text("0"), text("cpu"),
                      integer(numel), NONE) + b"Q" + STOP  # fmt: skip
    out = pickle.dumps(_LEGACY_MAGIC, protocol=2) + pickle.dumps(1001, protocol=2)
    out += pickle.dumps(
        {"protocol_version": 1001, "little_endian": True,
         "type_sizes": {"short": 2, "int": 4, "long": 4}},
        protocol=2,
    )  # fmt: skip
    out += sid + pickle.dumps(["0"], protocol=2)
    return out + struct.pack("<q", numel) + data


def storage(blob: bytes) -> bytes:
    """torch.storage._load_from_bytes(blob)."""
    return call(glob("torch.storage", "_load_from_bytes"), raw_bytes(blob))


def tensor(storage_expr: bytes, offset: int, size: tuple, stride: tuple) -> bytes:
    """torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())."""
    return call(
        glob("torch._utils", "_rebuild_tensor_v2"),
        storage_expr,
        integer(offset),
        tup(*(integer(n) for n in size)),
        tup(*(integer(s) for s in stride)),
        FALSE,
        call(glob("collections", "OrderedDict")),
    )


def _list_of(items: Iterator[bytes]) -> bytes:
    """A list built with APPENDS in runs of 1000."""
    out = [EMPTY_LIST]
    run: list[bytes] = []
    for item in items:
        run.append(item)
        if len(run) == 1000:
            out.append(MARK + b"".join(run) + b"e")
            run = []
    if run:
        out.append(MARK + b"".join(run) + b"e")
    return b"".join(out)


# ---------------------------------------------------------------------------------------------
# The corpus


def _raw_files() -> dict[str, bytes]:
    """Hand-written pickles: name -> bytes."""
    files: dict[str, bytes] = {}
    one_float = storage(storage_blob("FloatStorage", 1, struct.pack("<f", 1.0)))
    one_half = storage(storage_blob("HalfStorage", 1, b"\x00\x3c"))
    files["stride0_float"] = PROTO + tensor(one_float, 0, (50_000, 50_000), (0, 0)) + STOP
    files["stride0_half"] = PROTO + tensor(one_half, 0, (50_000, 50_000), (0, 0)) + STOP
    n = 40_000
    overlap = storage(storage_blob("FloatStorage", n, bytes(4 * n)))
    files["overlapping_strides"] = PROTO + tensor(overlap, 0, (20_000, 20_000), (1, 1)) + STOP
    files["negative_stride"] = PROTO + tensor(overlap, n - 1, (n,), (-1,)) + STOP
    files["offset_past_end"] = PROTO + tensor(one_float, 10**12, (1,), (1,)) + STOP
    files["size_past_end"] = PROTO + tensor(overlap, 0, (n + 1,), (1,)) + STOP

    # one 1 MB half storage viewed by 2000 tensors: each cast to float would copy 2 MB
    half = 2**19
    shared = storage(storage_blob("HalfStorage", half, bytes(2 * half))) + put(0)
    views = (tensor(get(0), 0, (half,), (1,)) for _ in range(2000))
    files["one_storage_many_views"] = PROTO + shared + b"0" + _list_of(views) + STOP
    # one 1 MB blob loaded as 5000 storages
    blob = raw_bytes(storage_blob("FloatStorage", 2**18, bytes(2**20))) + put(0)
    loads = (call(glob("torch.storage", "_load_from_bytes"), get(0)) for _ in range(5000))
    files["one_blob_many_storages"] = PROTO + blob + b"0" + _list_of(loads) + STOP
    # one 1 MB byte string used as the data of 5000 numpy arrays
    raw = raw_bytes(bytes(2**20)) + put(0)
    dtype = call(glob("numpy", "dtype"), text("f4"), FALSE, b"\x88") + put(1)
    dtype += tup(integer(3), text("<"), NONE, NONE, NONE, integer(-1), integer(-1),
                 integer(0)) + b"b"  # fmt: skip
    arrays = (
        call(glob("numpy.core.multiarray", "_reconstruct"), glob("numpy", "ndarray"),
             tup(integer(0)), raw_bytes(b"b"))
        + tup(integer(1), tup(integer(2**18)), get(1), FALSE, get(0)) + b"b"
        for _ in range(5000)
    )  # fmt: skip
    files["one_bytes_many_arrays"] = PROTO + raw + b"0" + dtype + b"0" + _list_of(arrays) + STOP
    # BUILD on a tensor: torch's __setstate__ would set_() it onto a resized storage
    files["build_on_tensor"] = (
        PROTO + tensor(one_float, 0, (1,), (1,))
        + tup(one_float, integer(0), tup(integer(10**8)), tup(integer(1))) + b"b" + STOP
    )  # fmt: skip

    # colliding keys: stdlib unpicklers take minutes (quadratic) on these
    keys = 150_000
    pairs = b"".join(integer(k * _COLLIDE) + NONE for k in range(1, keys + 1))
    files["colliding_dict_keys"] = PROTO + EMPTY_DICT + MARK + pairs + b"u" + STOP
    items = b"".join(integer(k * _COLLIDE) for k in range(1, keys + 1))
    files["colliding_set_items"] = b"\x80\x04\x8f" + MARK + items + b"\x90" + STOP
    files["colliding_frozenset"] = b"\x80\x04" + MARK + items + b"\x91" + STOP
    pair_list = _list_of(tup(integer(k * _COLLIDE), NONE) for k in range(1, keys + 1))
    files["colliding_ordered_dict"] = (
        PROTO + glob("collections", "OrderedDict") + tup(pair_list) + REDUCE + STOP
    )
    files["colliding_easydict"] = (
        PROTO + glob("dnnlib.util", "EasyDict") + b")\x81" + MARK + pairs + b"u" + STOP
    )
    files["colliding_set_call"] = PROTO + call(glob("builtins", "set"), _list_of(
        integer(k * _COLLIDE) for k in range(1, keys + 1))) + STOP  # fmt: skip
    float_keys = b"".join(b"G" + struct.pack(">d", float(k * _COLLIDE)) + NONE
                          for k in range(1, 50_000))  # fmt: skip
    files["colliding_float_keys"] = PROTO + EMPTY_DICT + MARK + float_keys + b"u" + STOP

    # nesting and shared references
    files["deep_tuples"] = PROTO + NONE + b"\x85" * 900_000 + STOP
    files["deep_tuple_dict_key"] = (
        PROTO + EMPTY_DICT + NONE + b"\x85" * 900_000 + NONE + b"s" + STOP
    )
    files["deep_lists"] = PROTO + EMPTY_LIST * 400_000 + b"a" * 399_999 + STOP
    laughs = EMPTY_LIST + put(0)
    for level in range(1, 40):  # 2**40 paths, 40 deep
        laughs += tup(get(level - 1), get(level - 1)) + put(level) + b"0"
    files["shared_reference_bomb"] = PROTO + laughs + b"0" + get(39) + STOP
    files["shared_reference_bomb_in_module"] = (
        PROTO + laughs + b"0" + _persistent("Generator", {"bomb": get(39)}) + STOP
    )
    files["shared_module_tree"] = PROTO + _module_dag(25) + STOP
    files["list_cycle"] = PROTO + EMPTY_LIST + put(0) + get(0) + b"a" + STOP
    files["dict_cycle"] = PROTO + EMPTY_DICT + put(0) + text("self") + get(0) + b"s" + STOP

    # long streams, big literals, lengths that are not there
    files["opcode_flood"] = PROTO + NONE + (NONE + b"0") * 4_000_000 + STOP
    files["memo_flood"] = PROTO + NONE + b"".join(put(i) for i in range(1_500_000)) + STOP
    files["huge_length"] = PROTO + b"\x8e" + struct.pack("<Q", 2**62) + b"x" * 16 + STOP
    files["huge_text_length"] = PROTO + b"\x8d" + struct.pack("<Q", 2**62) + b"x" * 16 + STOP
    files["huge_integer"] = (
        PROTO + b"\x8b" + struct.pack("<i", 5_000_000) + b"\x01" * 5_000_000 + STOP
    )
    files["huge_frame"] = b"\x80\x04\x95" + struct.pack("<Q", 2**62) + NONE + STOP
    files["negative_long4"] = PROTO + b"\x8b" + struct.pack("<i", -5) + STOP
    files["many_tiny_tensors"] = PROTO + _list_of(
        tensor(one_float, 0, (1,), (1,)) for _ in range(25_000)
    ) + STOP  # fmt: skip
    return files


def _persistent(class_name: str, attributes: dict[str, bytes], modules: bytes = b"}") -> bytes:
    """_reconstruct_persistent_obj({type, version, module_src, class_name, state})."""
    state = EMPTY_DICT + MARK + text("_modules") + modules
    for key, value in attributes.items():
        state += text(key) + value
    state += b"u"
    meta = EMPTY_DICT + MARK + text("type") + text("class") + text("version") + integer(6)
    meta += text("module_src") + text("") + text("class_name") + text(class_name)
    meta += text("state") + state + b"u"
    return call(glob("torch_utils.persistence", "_reconstruct_persistent_obj"), meta)


def _module_dag(levels: int) -> bytes:
    """A Generator whose module tree reuses each child twice per level: 2**levels paths."""
    out = _persistent("SynthesisLayer", {}) + put(0) + b"0"
    for level in range(1, levels):
        children = EMPTY_DICT + MARK + text("a") + get(level - 1) + text("b") + get(level - 1)
        out += _persistent("SynthesisLayer", {}, children + b"u") + put(level) + b"0"
    children = EMPTY_DICT + MARK + text("synthesis") + get(levels - 1) + b"u"
    return out + _persistent("Generator", {}, children)


def _record(net: dict, path: str) -> dict:
    return next(r for r in net["G_ema"] if r["path"] == path)


def _set_attr(net: dict, path: str, key: str, value: Any, kind: Any = None) -> None:
    rec = _record(net, path)
    rec["attributes"][key] = value
    if kind is not None:
        rec["attribute_types"][key] = kind


def _sg3_edits() -> dict[str, Callable[[dict, dict], None]]:
    """Edits of the golden sg3t_32 network: name -> edit(network_json, values)."""

    def layers(net: dict) -> list[dict]:
        return [
            r
            for r in net["G_ema"]
            if r["path"].startswith("synthesis.L") and r["path"].count(".") == 1
        ]

    def huge_sizes(net: dict, values: dict) -> None:
        # a chain that stays consistent (each layer takes its predecessor's size): only the
        # ranges can refuse it; rendering it would need terabytes
        big = 60_000
        _set_attr(net, "synthesis.input", "size", [big, big])
        for rec in layers(net):
            rec["attributes"]["in_size"] = [big, big]
            rec["attributes"]["out_size"] = [big, big]

    def big_consistent_sizes(net: dict, values: dict) -> None:
        # sizes inside their range and consistent from layer to layer (padding recomputed):
        # only the per-layer activation bound refuses it (about 60 GB per image)
        big = 8000
        _set_attr(net, "synthesis.input", "size", [big, big])
        for rec in layers(net):
            a = rec["attributes"]
            a["in_size"] = a["out_size"] = [big, big]
            up, down, k = a["up_factor"], a["down_factor"], a["conv_kernel"]
            total = (big - 1) * down + 1 - (big + k - 1) * up + a["up_taps"] + a["down_taps"] - 2
            lo = (total + up) // 2
            a["padding"] = [lo, total - lo, lo, total - lo]

    return {
        "sg3_huge_sizes": huge_sizes,
        "sg3_layer_activation_too_big": big_consistent_sizes,
        "sg3_up_taps_1e9": lambda net, v: _set_attr(net, "synthesis.L0_36_64", "up_taps", 10**9),
        "sg3_nan_cutoff": lambda net, v: _set_attr(
            net, "synthesis.L1_36_64", "in_cutoff", math.nan, "float"),
        "sg3_inf_sampling_rate": lambda net, v: _set_attr(
            net, "synthesis.input", "sampling_rate", math.inf, "float"),
        "sg3_string_num_ws": lambda net, v: _set_attr(net, "", "num_ws", "16", "str"),
        "sg3_string_channels": lambda net, v: _set_attr(
            net, "synthesis.L3_36_64", "out_channels", "64", "str"),
        "sg3_channels_1e7": lambda net, v: _set_attr(
            net, "synthesis.L3_36_64", "out_channels", 10**7),
        "sg3_kernel_1e5": lambda net, v: _set_attr(
            net, "synthesis.L3_36_64", "conv_kernel", 10**5),
        "sg3_padding_huge": lambda net, v: _set_attr(
            net, "synthesis.L3_36_64", "padding", [10**9, 0, 0, 0]),
        "sg3_resolution_2e20": lambda net, v: _set_attr(net, "synthesis", "img_resolution", 2**20),
        "sg3_mapping_layers_1e9": lambda net, v: _set_attr(net, "mapping", "num_layers", 10**9),
        "sg3_layer_names_1e6": lambda net, v: _set_attr(
            net, "synthesis", "layer_names", ["L0_36_64"] * 10**6,
            {"type": "list", "items": ["str"] * 10**6}),
    }  # fmt: skip


def _sg2_edits() -> dict[str, Callable[[dict, dict], None]]:
    """Edits of the golden sg2_32 network."""
    return {
        "sg2_resolution_2e30": lambda net, v: _set_attr(net, "synthesis", "img_resolution", 2**30),
        "sg2_block_resolutions_huge": lambda net, v: _set_attr(
            net, "synthesis", "block_resolutions", [4, 8, 16, 2**40]),
        "sg2_string_w_dim": lambda net, v: _set_attr(net, "", "w_dim", "64", "str"),
        "sg2_nan_clamp": lambda net, v: [
            _set_attr(net, r["path"], "conv_clamp", math.nan, "float")
            for r in net["G_ema"] if "conv_clamp" in r["attributes"]],
    }  # fmt: skip


def _tf_edits() -> dict[str, Callable[[dict], None]]:
    """Edits of the golden TF network's static kwargs."""

    def kwarg(key: str, value: Any, kind: str = "int") -> Callable[[dict], None]:
        def edit(tf: dict) -> None:
            gs = tf["Gs"]
            gs["static_kwargs"][key] = value
            gs["static_kwargs_type"]["items"][key] = kind

        return edit

    return {
        "tf_mapping_layers_1e10": kwarg("mapping_layers", 10**10),
        "tf_resolution_2e40": kwarg("resolution", 2**40),
        "tf_fmap_base_string": kwarg("fmap_base", "lots", "str"),
        "tf_latent_size_nan": kwarg("latent_size", math.nan, "float"),
        "tf_fmap_max_1e9": kwarg("fmap_max", 10**9),
    }


def _checkpoint_files(directory: Path) -> dict[str, Path]:
    """Our safetensors format with hostile headers."""
    import torch
    from safetensors.torch import save_file

    sys.path.insert(0, str(Path(__file__).parent))
    import golden_pickles as gp
    from installation.models import load_generator, save_generator

    good = save_generator(
        load_generator(gp.build_torch_pickle("sg3t_32", directory / "ck_src.pkl", bare=True)),
        directory / "ck_good.safetensors",
    )
    from safetensors import safe_open

    with safe_open(str(good), "pt") as f:
        metadata = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    spec = json.loads(metadata["spec"])
    out: dict[str, Path] = {}

    def write(name: str, meta: dict, data: dict | None = None) -> None:
        path = directory / f"{name}.safetensors"
        save_file(tensors if data is None else data, str(path), metadata=meta)
        out[name] = path

    def with_spec(change: Callable[[dict], None]) -> dict:
        doc = json.loads(json.dumps(spec))
        change(doc)
        return {**metadata, "spec": json.dumps(doc)}

    write("ckpt_resolution_2e20", with_spec(lambda d: d["synthesis"].update(img_resolution=2**20)))
    write("ckpt_huge_sizes", with_spec(lambda d: [
        layer.update(in_size=[70_000, 70_000], out_size=[70_000, 70_000])
        for layer in d["synthesis"]["layers"]]))  # fmt: skip
    write("ckpt_nan_sampling_rate", with_spec(
        lambda d: d["synthesis"]["input"].update(sampling_rate=math.nan)))  # fmt: skip
    write("ckpt_string_w_dim", with_spec(lambda d: d["mapping"].update(w_dim="64")))
    write("ckpt_spec_is_a_list", {**metadata, "spec": "[1, 2, 3]"})
    write("ckpt_deep_json", {**metadata, "spec": "[" * 100_000 + "]" * 100_000})
    write("ckpt_format_version_text", {**metadata, "format_version": "one"})
    many = {f"t{i}": torch.zeros(1) for i in range(20_000)}
    write("ckpt_many_tensors", metadata, many)
    return out


def build_corpus(directory: str | os.PathLike) -> dict[str, Path]:
    """Write every hostile file into directory; name -> path (all under 10 MB)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import golden_pickles as gp

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for name, data in _raw_files().items():
        path = d / f"{name}.pkl"
        path.write_bytes(data)
        out[name] = path
    for name, edit in _sg3_edits().items():
        out[name] = gp.build_torch_pickle("sg3t_32", d / f"{name}.pkl", bare=True, edit=edit)
    for name, edit in _sg2_edits().items():
        out[name] = gp.build_torch_pickle("sg2_32", d / f"{name}.pkl", bare=True, edit=edit)
    for name, tf_edit in _tf_edits().items():
        out[name] = gp.build_tf_pickle(d / f"{name}.pkl", edit=tf_edit)
    out.update(_checkpoint_files(d))
    for name, path in out.items():
        size = path.stat().st_size
        assert size <= MAX_FILE_BYTES, f"{name} is {size} bytes"
    return out


# ---------------------------------------------------------------------------------------------
# The probe: each file loaded in a forked child; time and peak RSS above the child's start


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def _load_one(path: str) -> dict[str, Any]:
    """Runs in the forked child: load, classify the outcome, measure."""
    from installation.errors import ModelLoadError
    from installation.models import load_generator

    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak RSS to the current RSS (Linux >= 4.0)
    except OSError:
        pass
    base_kb = _status_kb("VmRSS")
    cpu_started = time.process_time()
    started = time.perf_counter()
    try:
        load_generator(path)
        outcome, message = "loaded", ""
    except ModelLoadError as exc:
        outcome, message = "refused", str(exc)
    except BaseException as exc:  # noqa: BLE001 - the probe reports any other type as a failure
        outcome, message = f"crashed: {type(exc).__name__}", str(exc)[:300]
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    peak_kb = _status_kb("VmHWM")
    return {
        "path": path,
        "bytes": os.path.getsize(path),
        "outcome": outcome,
        "message": message.splitlines()[0][:300] if message else "",
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_rss_mb": (peak_kb - base_kb) / 1024,
    }


def _probe_main(paths: list[str]) -> None:
    import installation.models  # noqa: F401 - torch imported once, before the forks

    for path in paths:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            try:
                result = _load_one(path)
            except BaseException as exc:  # noqa: BLE001
                result = {"path": path, "outcome": f"crashed: {type(exc).__name__}"}
            os.write(write_fd, json.dumps(result).encode())
            os._exit(0)
        os.close(write_fd)
        started = time.monotonic()
        ready, _, _ = select.select([read_fd], [], [], HANG_S)
        data = b""
        if ready:
            while chunk := os.read(read_fd, 65536):
                data += chunk
        else:
            os.kill(pid, signal.SIGKILL)
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
        if data:
            result = json.loads(data)
        else:
            result = {
                "path": path,
                "bytes": os.path.getsize(path),
                "outcome": "hang" if not ready else f"died (status {status})",
                "seconds": time.monotonic() - started,
                "cpu_seconds": float("nan"),
                "peak_rss_mb": float("nan"),
                "message": "",
            }
        print(json.dumps(result), flush=True)


def probe(paths: list[Path]) -> list[dict[str, Any]]:
    """Load each file in its own forked process (in one helper process): outcome and figures."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--probe", *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=HANG_S * len(paths) + 120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"probe failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def bar_mb(size_bytes: int) -> float:
    """The issue's memory bar for a file: 2 x its bytes + 200 MB."""
    return 2 * size_bytes / 2**20 + 200


def format_table(results: list[dict[str, Any]]) -> str:
    """A table of outcome, wall and CPU seconds and peak RSS per file, slowest first."""
    rows = sorted(results, key=lambda r: -r["seconds"])
    lines = [
        f"{'file':38} {'MB':>6} {'wall s':>6} {'cpu s':>6} {'peak MB':>8} {'bar MB':>7}  outcome"
    ]
    for r in rows:
        lines.append(
            f"{Path(r['path']).name[:38]:38} {r['bytes'] / 2**20:6.2f} {r['seconds']:6.2f} "
            f"{r['cpu_seconds']:6.2f} {r['peak_rss_mb']:8.1f} {bar_mb(r['bytes']):7.0f}  "
            f"{r['outcome']}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        sys.path.insert(0, str(ROOT))
        _probe_main(sys.argv[2:])
    else:
        sys.exit("usage: python tests/hostile_models.py --probe FILE...")
