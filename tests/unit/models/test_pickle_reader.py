"""Restricted pickle reader: golden NVIDIA-format pickles read exactly; hostile files refused."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import golden_pickles as gp
from installation.errors import ModelLoadError
from installation.models.pickle_reader import (
    ModuleRecord,
    TFNetwork,
    read_generator_record,
    read_pickle,
)

VARIANTS = {
    "snapshot": {},
    "bare": {"bare": True},
    "torch1_protocol3": {"torch1_style": True},
    "protocol2": {"protocol": 2},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Every golden torch model in every pickle variant, written once per module."""
    d = tmp_path_factory.mktemp("golden_pickles")
    out = {}
    for model in gp.MODELS:
        for variant, kw in VARIANTS.items():
            out[(model, variant)] = gp.build_torch_pickle(model, d / f"{model}_{variant}.pkl", **kw)
    return out


def _npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("model", gp.MODELS)
def test_golden_pickle_g_ema_tensors_exact(built: dict, model: str, variant: str) -> None:
    kind, rec, desc = read_generator_record(built[(model, variant)])
    assert kind == "torch"
    assert isinstance(rec, ModuleRecord) and rec.class_name == "Generator" and rec.path == ""
    assert ("G_ema" in desc) == (variant != "bare")
    ref = _npz(gp.GOLDEN / model / "params.npz")
    tensors = rec.named_tensors()
    assert list(tensors) == list(ref)  # same names, same (named_parameters + buffers) order
    for name, arr in ref.items():
        t = tensors[name]
        assert t.dtype == torch.float32 and t.device.type == "cpu"
        assert tuple(t.shape) == arr.shape, name
        assert np.array_equal(t.numpy(), arr), name


@pytest.mark.parametrize("model", gp.MODELS)
def test_snapshot_globals_match_nvidia_layout(built: dict, model: str) -> None:
    expected = gp.expected_outer_globals(model)
    outer, inner, ops = gp.pickle_globals(built[(model, "snapshot")].read_bytes())
    assert outer == expected
    assert inner == {"torch.FloatStorage"}
    assert "STACK_GLOBAL" in ops and "GLOBAL" not in ops
    outer1, _, ops1 = gp.pickle_globals(built[(model, "torch1_protocol3")].read_bytes())
    assert outer1 == expected | {"builtins.set"}
    assert "GLOBAL" in ops1 and "STACK_GLOBAL" not in ops1


@pytest.mark.parametrize("model", gp.MODELS)
def test_records_match_network_json(built: dict, model: str) -> None:
    net = gp.load_network_json(model)
    snap = read_pickle(built[(model, "snapshot")])
    assert list(snap) == net["snapshot"]["keys"]
    assert snap["augment_pipe"] is None
    assert snap["training_set_kwargs"] == net["snapshot"]["training_set_kwargs"]
    for key, records in (("G_ema", net["G_ema"]), ("G", net["G_ema"]), ("D", net["D"])):
        for r in records:
            rec = snap[key].find(r["path"])
            assert rec is not None and rec.path == r["path"] and rec.class_name == r["class_name"]
            assert json.loads(json.dumps(rec.attributes)) == r["attributes"], r["path"]
            assert json.loads(json.dumps(rec.init_kwargs)) == r["init_kwargs"], r["path"]
            assert list(rec.children) == r["modules"]
            assert list(rec.parameters) == [p["name"] for p in r["parameters"] if "shape" in p]
            assert list(rec.buffers) == [b["name"] for b in r["buffers"] if "shape" in b]
    g_ema = snap["G_ema"]
    assert len(g_ema.module_src_sha1) == 40
    # Attribute types: numpy scalars became Python scalars, int arrays lists.
    for rec_json in net["G_ema"]:
        rec = g_ema.find(rec_json["path"])
        for name, desc in rec_json["attribute_types"].items():
            value = rec.attributes[name]
            if desc == "numpy.float64":
                assert type(value) is float
            elif desc == "numpy.bool_":
                assert type(value) is bool
            elif isinstance(desc, dict) and desc["type"] == "numpy.ndarray":
                assert type(value) is list and all(type(v) is int for v in value)


@pytest.mark.parametrize("model", ["sg2_32", "sg3t_32"])
def test_training_copy_g_parameters(built: dict, model: str) -> None:
    snap = read_pickle(built[(model, "snapshot")])
    g_vals = _npz(gp.GOLDEN / model / "G_params.npz")
    ema_vals = _npz(gp.GOLDEN / model / "params.npz")
    tensors = snap["G"].named_tensors()
    for name, t in tensors.items():
        ref = g_vals.get(name, ema_vals[name])
        assert np.array_equal(t.numpy(), ref), name
    assert all(float(t.abs().sum()) == 0.0 for t in snap["D"].named_tensors().values())


def test_sg3_none_buffers_dropped(built: dict) -> None:
    _, rec, _ = read_generator_record(built[("sg3t_32", "snapshot")])
    torgb = rec.find("synthesis.L14_32_3")
    assert torgb is not None and "up_filter" not in torgb.buffers
    assert "magnitude_ema" in torgb.buffers
    assert rec.find("mapping").attributes["embed"] is None
    assert rec.find("no.such.path") is None


def test_tf_pickle_reads_as_tf_networks(tmp_path: Path) -> None:
    p = gp.build_tf_pickle(tmp_path / "tf.pkl")
    outer, _, _ = gp.pickle_globals(p.read_bytes())
    assert outer == gp.expected_outer_globals(gp.TF_MODEL)
    obj = read_pickle(p)
    assert isinstance(obj, tuple) and [n.name for n in obj] == ["G", "D", "Gs"]
    kind, gs, desc = read_generator_record(p)
    assert kind == "tf" and isinstance(gs, TFNetwork) and gs.name == "Gs" and "Gs" in desc
    assert list(gs.components) == ["synthesis", "mapping"]
    ref = _npz(gp.GOLDEN / gp.TF_MODEL / "params.npz")
    flat = dict(gs.variables)
    for cname, comp in gs.components.items():
        flat.update({f"{cname}/{k}": v for k, v in comp.variables.items()})
    assert set(flat) == set(ref)
    for k, v in ref.items():
        assert flat[k].shape == v.shape and np.array_equal(flat[k], v), k


def test_module_src_is_never_executed(tmp_path: Path) -> None:
    p = tmp_path / "src.pkl"
    marker = gp.module_src_exec_pickle(p)
    rec = read_pickle(p)
    assert isinstance(rec, ModuleRecord) and rec.attributes == {"z_dim": 4}
    assert rec.init_kwargs == {"z_dim": 4} and type(rec.init_kwargs) is dict
    assert not os.path.exists(marker)
    assert len(rec.module_src_sha1) == 40 and rec.module_src_sha1 != hashlib.sha1(b"").hexdigest()


# ---------------------------------------------------------------------------------------------
# Hostile and broken files


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """Hostile pickles and the directory their markers would appear in."""
    d = tmp_path_factory.mktemp("hostile")
    return d, gp.build_hostile_pickles(d)


@pytest.mark.parametrize("name", sorted(gp.HOSTILE_EXPECTED))
def test_hostile_pickle_refused(hostile: tuple[Path, dict[str, Path]], name: str) -> None:
    d, paths = hostile
    with pytest.raises(ModelLoadError) as exc:
        read_pickle(paths[name])
    msg = str(exc.value)
    assert str(paths[name]) in msg
    assert gp.HOSTILE_EXPECTED[name] in msg
    with pytest.raises(ModelLoadError):
        read_generator_record(paths[name])
    assert not list(d.glob("PWNED_*"))


def test_every_hostile_pickle_is_tested() -> None:
    assert len(gp.HOSTILE_EXPECTED) >= 15


def _expect_error(path: Path, *fragments: str) -> str:
    with pytest.raises(ModelLoadError) as exc:
        read_generator_record(path)
    msg = str(exc.value)
    assert str(path) in msg
    for f in fragments:
        assert f in msg, msg
    return msg


@pytest.mark.parametrize("fraction", [0.0001, 0.01, 0.3, 0.5, 0.9, 0.9999])
def test_truncated_pickle(built: dict, tmp_path: Path, fraction: float) -> None:
    data = built[("sg2_32", "snapshot")].read_bytes()
    p = tmp_path / "cut.pkl"
    p.write_bytes(data[: max(3, int(len(data) * fraction))])
    _expect_error(p)


def test_truncated_after_header_and_one_byte_short(built: dict, tmp_path: Path) -> None:
    data = built[("sg3t_32", "bare")].read_bytes()
    for cut in (2, len(data) - 1):
        p = tmp_path / f"cut{cut}.pkl"
        p.write_bytes(data[:cut])
        _expect_error(p)


def test_random_bytes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(5):
        p = tmp_path / f"rand{i}.pkl"
        data = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
        p.write_bytes(data if i % 2 else b"\x80\x04" + data)
        _expect_error(p)


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.pkl"
    p.write_bytes(b"")
    _expect_error(p, "empty")


def test_missing_file(tmp_path: Path) -> None:
    _expect_error(tmp_path / "nope.pkl", "cannot open")


def test_text_file(tmp_path: Path) -> None:
    p = tmp_path / "notes.pkl"
    p.write_text("this is not a network\n")
    _expect_error(p, "not a pickle")


def test_zip_torch_save(tmp_path: Path) -> None:
    p = tmp_path / "ckpt.pt"
    torch.save({"G_ema": {"w": torch.zeros(2)}}, p)
    _expect_error(p, "this is a torch.save checkpoint, not an NVIDIA pickle")


def test_legacy_torch_save(tmp_path: Path) -> None:
    p = tmp_path / "legacy.pt"
    torch.save({"w": torch.zeros(2)}, p, _use_new_zipfile_serialization=False)
    _expect_error(p, "torch.save")


def test_snapshot_without_g_ema(tmp_path: Path) -> None:
    p = tmp_path / "sd.pkl"
    p.write_bytes(pickle.dumps({"state_dict": {"a": 1}, "opt": None}, protocol=4))
    _expect_error(p, "no 'G_ema' entry (found: state_dict, opt)")


def test_tf_stylegan1_version(tmp_path: Path) -> None:
    p = gp.build_tf_pickle(tmp_path / "sg1.pkl", version=3)
    _expect_error(p, "StyleGAN1 / TF version 3 is not supported")


def test_unrecognised_top_level(tmp_path: Path) -> None:
    p = tmp_path / "list.pkl"
    p.write_bytes(pickle.dumps([1, 2, 3], protocol=4))
    _expect_error(p, "unrecognised top-level object list")


def test_bare_non_generator_record(built: dict, tmp_path: Path) -> None:
    p = tmp_path / "src.pkl"
    gp.module_src_exec_pickle(p)
    data = p.read_bytes().replace(b"Generator", b"Generatoz")
    p.write_bytes(data)
    _expect_error(p, "'Generatoz', not a 'Generator'")


# ---------------------------------------------------------------------------------------------
# Tensor and numpy details, using torch/numpy's own pickling as the writer


def _roundtrip(obj: object, tmp_path: Path, protocol: int = 4) -> object:
    p = tmp_path / "obj.pkl"
    p.write_bytes(pickle.dumps(obj, protocol=protocol))
    return read_pickle(p)


def test_tensor_strides_offsets_and_dtypes(tmp_path: Path) -> None:
    base = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    cl = base.to(memory_format=torch.channels_last)
    view = torch.arange(20, dtype=torch.float32)[5:17].reshape(3, 4)
    half = torch.tensor([1.5, -2.25, 3.0], dtype=torch.float16)
    scalar = torch.tensor(0.125)
    param = torch.nn.Parameter(torch.ones(3), requires_grad=False)
    got = _roundtrip({"cl": cl, "view": view, "half": half, "scalar": scalar, "p": param}, tmp_path)
    assert torch.equal(got["cl"], base)
    assert torch.equal(got["view"], view)
    assert got["half"].dtype == torch.float32 and torch.equal(got["half"], half.float())
    assert got["scalar"].shape == () and float(got["scalar"]) == 0.125
    assert torch.equal(got["p"], torch.ones(3))


def test_numpy2_spellings_and_protocol2(tmp_path: Path) -> None:
    obj = [np.float64(1.5), np.bool_(True), np.arange(3, dtype=np.int64), np.float32(2.0)]
    for protocol in (2, 3, 4):
        got = _roundtrip(obj, tmp_path, protocol)
        assert got == [1.5, True, [0, 1, 2], 2.0]
        assert [type(v) for v in got] == [float, bool, list, float]


def test_refused_numpy_dtype_in_numpy_native_pickle(tmp_path: Path) -> None:
    p = tmp_path / "c.pkl"
    p.write_bytes(pickle.dumps(np.complex128(1j), protocol=4))
    _expect_error(p, "refused numpy dtype 'c16'")
    p.write_bytes(pickle.dumps(np.array([object()], dtype=object)[:0], protocol=4))
    _expect_error(p, "refused numpy dtype 'O8'")


def test_unknown_bookkeeping_keys_ignored(tmp_path: Path) -> None:
    rec = gp._Persistent(
        {
            "type": "class",
            "version": 6,
            "module_src": "",
            "class_name": "Generator",
            "state": {
                "training": False,
                "_parameters": {"w": torch.nn.Parameter(torch.ones(2), requires_grad=False)},
                "_buffers": {"b": None},
                "_modules": {"child": None},
                "_some_future_torch_key": {},
                "z_dim": 3,
            },
        }
    )
    p = tmp_path / "r.pkl"
    gp._dump(rec, p, 4)
    kind, got, _ = read_generator_record(p)
    assert kind == "torch" and got.attributes == {"z_dim": 3}
    assert list(got.named_tensors()) == ["w"] and got.children == {}


def test_wrong_persistent_version(tmp_path: Path) -> None:
    rec = gp._Persistent(
        {"type": "class", "version": 5, "module_src": "", "class_name": "G", "state": {}}
    )
    p = tmp_path / "v5.pkl"
    gp._dump(rec, p, 4)
    _expect_error(p, "version 5 is not supported (expected 6)")


def test_no_code_needed_at_import() -> None:
    # The reader never imports NVIDIA modules; the stand-ins exist only while the builders dump.
    assert "torch_utils" not in sys.modules and "dnnlib" not in sys.modules
