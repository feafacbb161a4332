"""Files we cannot render give a ModelLoadError that names the file and what is wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import save_file

from golden_pickles import build_torch_pickle
from installation.errors import ModelLoadError
from installation.models import load_generator, save_generator


def record(net: dict, path: str) -> dict:
    return next(r for r in net["G_ema"] if r["path"] == path)


def bad_pickle(tmp_path: Path, model: str, edit) -> Path:
    return build_torch_pickle(model, tmp_path / "bad.pkl", bare=True, edit=edit)


def test_fork_class_is_named(tmp_path: Path) -> None:
    def edit(net: dict, values: dict) -> None:
        record(net, "synthesis.b8.conv0")["class_name"] = "SynthesisLayerXL"

    path = bad_pickle(tmp_path, "sg2_32", edit)
    with pytest.raises(ModelLoadError, match=r"SynthesisLayerXL.*synthesis\.b8\.conv0") as err:
        load_generator(path)
    assert str(path) in str(err.value) and "supported" in str(err.value)


def test_extra_parameter_of_a_fork_is_named(tmp_path: Path) -> None:
    def edit(net: dict, values: dict) -> None:
        key = "synthesis.L3_36_64.extra_gain"
        record(net, "synthesis.L3_36_64")["parameters"].append(
            {"name": "extra_gain", "key": key, "shape": [64], "dtype": "float32"}
        )
        values[key] = np.ones(64, np.float32)

    with pytest.raises(ModelLoadError, match=r"unknown parameters synthesis\.L3_36_64\.extra_gain"):
        load_generator(bad_pickle(tmp_path, "sg3t_32", edit))


def test_shape_mismatch_names_parameter_expected_and_found(tmp_path: Path) -> None:
    def edit(net: dict, values: dict) -> None:
        entry = next(p for p in record(net, "mapping.fc1")["parameters"] if p["name"] == "bias")
        entry["shape"] = [65]
        values["mapping.fc1.bias"] = np.zeros(65, np.float32)

    with pytest.raises(
        ModelLoadError, match=r"mapping\.fc1\.bias: expected shape \[64\].*found \[65\]"
    ):
        load_generator(bad_pickle(tmp_path, "sg2_32", edit))


def test_missing_parameter_is_named(tmp_path: Path) -> None:
    def edit(net: dict, values: dict) -> None:
        rec = record(net, "synthesis.b16.conv1")
        rec["parameters"] = [p for p in rec["parameters"] if p["name"] != "noise_strength"]
        rec["state_keys"] = list(rec["state_keys"])

    with pytest.raises(
        ModelLoadError, match=r"missing parameters synthesis\.b16\.conv1\.noise_str"
    ):
        load_generator(bad_pickle(tmp_path, "sg2_32", edit))


def test_inconsistent_attributes_are_reported(tmp_path: Path) -> None:
    def edit(net: dict, values: dict) -> None:
        record(net, "")["attributes"]["num_ws"] = 99

    with pytest.raises(ModelLoadError, match=r"num_ws=99"):
        load_generator(bad_pickle(tmp_path, "sg3r_32", edit))


def test_foreign_and_damaged_safetensors(tmp_path: Path) -> None:
    import torch

    foreign = tmp_path / "other.safetensors"
    save_file({"x": torch.zeros(2)}, str(foreign), metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match="without our generator metadata"):
        load_generator(foreign)
    damaged = tmp_path / "damaged.safetensors"
    ours = {"format": "latent-walk-generator", "format_version": "1", "spec": "{"}
    save_file({"x": torch.zeros(2)}, str(damaged), metadata=ours)
    with pytest.raises(ModelLoadError, match="damaged network spec"):
        load_generator(damaged)


def test_checkpoint_with_wrong_tensor_shapes(tmp_path: Path) -> None:
    from safetensors import safe_open
    from safetensors.torch import load_file

    good = save_generator(load_generator(build_torch_pickle("sg3t_32", tmp_path / "g.pkl")),
                          tmp_path / "g.safetensors")  # fmt: skip
    with safe_open(str(good), "pt") as f:
        metadata = f.metadata()
    tensors = load_file(str(good))
    tensors["synthesis.input.freqs"] = tensors["synthesis.input.freqs"][:10]
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata=metadata)
    with pytest.raises(ModelLoadError, match=r"synthesis\.input\.freqs: expected shape"):
        load_generator(bad)
