"""TF StyleGAN2 (Gs) conversion: names, transforms and kwargs equal NVIDIA's legacy.py output."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

import golden_pickles as gp
from installation.errors import ModelLoadError
from installation.models.pickle_reader import TFNetwork, read_generator_record
from installation.models.tf_convert import convert_tf_generator

SRC = "models/tf.pkl"


@pytest.fixture(scope="module")
def gs(tmp_path_factory: pytest.TempPathFactory) -> TFNetwork:
    """The Gs network of the rebuilt tf_sg2_32 pickle."""
    p = gp.build_tf_pickle(tmp_path_factory.mktemp("tf") / "tf.pkl")
    kind, rec, _ = read_generator_record(p)
    assert kind == "tf" and isinstance(rec, TFNetwork)
    return rec


def _with(gs: TFNetwork, *, synth_vars: dict | None = None, **static: object) -> TFNetwork:
    """Copy of gs with changed static kwargs and/or synthesis variables."""
    comps = dict(gs.components)
    if synth_vars is not None:
        comps["synthesis"] = dataclasses.replace(comps["synthesis"], variables=synth_vars)
    return dataclasses.replace(gs, static_kwargs={**gs.static_kwargs, **static}, components=comps)


def test_converted_params_exact(gs: TFNetwork) -> None:
    kwargs, state = convert_tf_generator(gs, SRC)
    with np.load(gp.GOLDEN / gp.TF_MODEL / "converted_params.npz", allow_pickle=False) as z:
        ref = {k: z[k] for k in z.files if not k.endswith("resample_filter")}
    assert set(state) == set(ref)
    for name, arr in ref.items():
        t = state[name]
        assert tuple(t.shape) == arr.shape, name
        assert np.array_equal(t.numpy(), arr), name
        assert t.is_contiguous()


def test_kwargs_match_converted_record(gs: TFNetwork) -> None:
    kwargs, _ = convert_tf_generator(gs, SRC)
    conv = gp.load_network_json(gp.TF_MODEL)["converted"]
    assert kwargs == conv["top_level_init_kwargs"]
    assert list(kwargs) == list(conv["top_level_init_kwargs"])
    root = conv["G_ema"][0]
    assert kwargs == root["init_kwargs"]


def test_shapes_match_converted_record(gs: TFNetwork) -> None:
    _, state = convert_tf_generator(gs, SRC)
    conv = gp.load_network_json(gp.TF_MODEL)["converted"]
    shapes = {
        e["key"]: e["shape"]
        for r in conv["G_ema"]
        for e in r["parameters"] + r["buffers"]
        if "shape" in e and not e["key"].endswith("resample_filter")
    }
    assert {k: list(v.shape) for k, v in state.items()} == shapes


def test_unknown_kwarg_named(gs: TFNetwork) -> None:
    with pytest.raises(
        ModelLoadError, match=r"models/tf\.pkl: unknown TensorFlow kwarg 'synthesis_func'"
    ):
        convert_tf_generator(_with(gs, synthesis_func="G_synthesis_layered"), SRC)


def test_harmless_kwargs_tolerated(gs: TFNetwork) -> None:
    ref_kwargs, ref_state = convert_tf_generator(gs, SRC)
    g2 = _with(
        gs,
        randomize_noise=True,
        truncation_psi=0.7,
        structure="auto",
        resolution_w=32,
        resolution_h=32,
    )
    kwargs, state = convert_tf_generator(g2, SRC)
    assert kwargs == ref_kwargs and set(state) == set(ref_state)


def test_non_square_resolution_refused(gs: TFNetwork) -> None:
    with pytest.raises(ModelLoadError, match="resolution_w"):
        convert_tf_generator(_with(gs, resolution_w=64, resolution_h=32), SRC)


def test_stylegan1_version_refused(gs: TFNetwork) -> None:
    with pytest.raises(ModelLoadError, match="StyleGAN1 / TF version 3 is not supported"):
        convert_tf_generator(dataclasses.replace(gs, version=3), SRC)


def test_unsupported_synthesis_named(gs: TFNetwork) -> None:
    comps = dict(gs.components)
    comps["synthesis"] = dataclasses.replace(comps["synthesis"], build_func_name="G_synthesis_b")
    with pytest.raises(ModelLoadError, match="'G_synthesis_b' is not supported"):
        convert_tf_generator(dataclasses.replace(gs, components=comps), SRC)


def test_missing_variable_named(gs: TFNetwork) -> None:
    synth = dict(gs.components["synthesis"].variables)
    del synth["16x16/Conv1/mod_bias"]
    with pytest.raises(ModelLoadError, match="'synthesis/16x16/Conv1/mod_bias' is missing"):
        convert_tf_generator(_with(gs, synth_vars=synth), SRC)


def test_wrong_kwargs_give_shape_error(gs: TFNetwork) -> None:
    with pytest.raises(ModelLoadError, match="has shape"):
        convert_tf_generator(_with(gs, fmap_max=128), SRC)


def test_transforms(gs: TFNetwork) -> None:
    _, state = convert_tf_generator(gs, SRC)
    v = gs.components["synthesis"].variables
    w = v["8x8/Conv0_up/weight"]
    assert np.array_equal(
        state["synthesis.b8.conv0.weight"].numpy(), w[::-1, ::-1].transpose(3, 2, 0, 1)
    )
    w = v["8x8/Conv1/weight"]
    assert np.array_equal(state["synthesis.b8.conv1.weight"].numpy(), w.transpose(3, 2, 0, 1))
    assert np.array_equal(
        state["synthesis.b8.conv1.affine.bias"].numpy(), v["8x8/Conv1/mod_bias"] + 1
    )
    assert np.array_equal(state["synthesis.b16.conv0.noise_const"].numpy(), v["noise3"][0, 0])
    assert np.array_equal(state["synthesis.b16.conv1.noise_const"].numpy(), v["noise4"][0, 0])
    m = gs.components["mapping"].variables
    assert np.array_equal(state["mapping.fc3.weight"].numpy(), m["Dense3/weight"].T)
    assert np.array_equal(state["mapping.w_avg"].numpy(), gs.variables["dlatent_avg"])


def test_orig_architecture_rename(gs: TFNetwork) -> None:
    _, ref = convert_tf_generator(gs, SRC)
    synth = {}
    for name, value in gs.components["synthesis"].variables.items():
        m = re.match(r"(\d+)x\1/ToRGB/(.+)", name)
        if m:
            lod = int(np.log2(32 // int(m.group(1))))
            name = f"ToRGB_lod{lod}/{m.group(2)}"
        synth[name] = value
    kwargs, state = convert_tf_generator(_with(gs, synth_vars=synth), SRC)
    assert kwargs["architecture"] == "orig"
    assert not [k for k in state if ".torgb." in k and not k.startswith("synthesis.b32.")]
    for k in [k for k in ref if k.startswith("synthesis.b32.torgb.")]:
        assert np.array_equal(state[k].numpy(), ref[k].numpy())
    assert set(state) == {k for k in ref if ".torgb." not in k or k.startswith("synthesis.b32.")}


def test_resnet_skip_weights(gs: TFNetwork) -> None:
    synth = dict(gs.components["synthesis"].variables)
    rng = np.random.default_rng(1)
    chans = {4: 64, 8: 64, 16: 64, 32: 32}
    for res in (8, 16, 32):
        synth[f"{res}x{res}/Skip/weight"] = rng.standard_normal(
            (1, 1, chans[res // 2], chans[res]), dtype=np.float32
        )
    kwargs, state = convert_tf_generator(_with(gs, synth_vars=synth, architecture="resnet"), SRC)
    assert kwargs["architecture"] == "resnet"
    for res in (8, 16, 32):
        w = synth[f"{res}x{res}/Skip/weight"]
        assert np.array_equal(
            state[f"synthesis.b{res}.skip.weight"].numpy(), w.transpose(3, 2, 0, 1)
        )
    assert [k for k in state if ".torgb.weight" in k] == ["synthesis.b32.torgb.weight"]


def test_conditional_label_embed(gs: TFNetwork) -> None:
    rng = np.random.default_rng(2)
    mapping = dict(gs.components["mapping"].variables)
    mapping["LabelEmbed/weight"] = rng.standard_normal((4, 64), dtype=np.float32)
    mapping["LabelEmbed/bias"] = rng.standard_normal(64, dtype=np.float32)
    mapping["Dense0/weight"] = rng.standard_normal((128, 64), dtype=np.float32)
    comps = dict(gs.components)
    comps["mapping"] = dataclasses.replace(comps["mapping"], variables=mapping)
    g2 = dataclasses.replace(
        gs, components=comps, static_kwargs={**gs.static_kwargs, "label_size": 4}
    )
    kwargs, state = convert_tf_generator(g2, SRC)
    assert kwargs["c_dim"] == 4
    assert np.array_equal(state["mapping.embed.weight"].numpy(), mapping["LabelEmbed/weight"].T)
    assert tuple(state["mapping.fc0.weight"].shape) == (64, 128)


def test_defaults_when_kwargs_absent(gs: TFNetwork) -> None:
    g2 = dataclasses.replace(gs, static_kwargs={"w_avg_beta": None})
    with pytest.raises(ModelLoadError, match="has shape"):  # defaults mean 1024 px, 512 wide
        convert_tf_generator(g2, SRC)


def test_source_in_message(tmp_path: Path, gs: TFNetwork) -> None:
    with pytest.raises(ModelLoadError) as exc:
        convert_tf_generator(dataclasses.replace(gs, version=2), str(tmp_path / "x.pkl"))
    assert str(tmp_path / "x.pkl") in str(exc.value)
