"""Building a StyleGAN3 from hyperparameters reproduces what NVIDIA's code stores per layer."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.signal
import torch

from golden_pickles import GOLDEN
from installation.models.filters import lowpass_1d
from installation.models.spec import NetworkSpec
from installation.models.stylegan3 import camera_transform, design_filters, design_synthesis

CONFIGS = {
    "sg3t_32": {"channel_base": 1024, "channel_max": 64},
    "sg3r_32": {
        "channel_base": 2048,
        "channel_max": 128,
        "conv_kernel": 1,
        "use_radial_filters": True,
    },  # fmt: skip
}
FIELDS = [
    "in_channels", "out_channels", "in_sampling_rate", "out_sampling_rate", "tmp_sampling_rate",
    "in_cutoff", "out_cutoff", "in_half_width", "out_half_width", "up_factor", "down_factor",
    "up_taps", "down_taps", "down_radial", "padding", "use_fp16", "is_critically_sampled",
    "is_torgb", "conv_kernel", "in_size", "out_size",
]  # fmt: skip


@pytest.mark.parametrize("model", sorted(CONFIGS))
def test_schedule_and_filters_match_stored(model: str) -> None:
    network = json.loads((GOLDEN / model / "network.json").read_text())
    params = np.load(GOLDEN / model / "params.npz")
    records = {r["path"]: r for r in network["G_ema"]}
    spec = design_synthesis(w_dim=64, img_resolution=32, **CONFIGS[model])
    names = records["synthesis"]["attributes"]["layer_names"]
    assert [layer.name for layer in spec.layers] == names
    for layer in spec.layers:
        stored = records[f"synthesis.{layer.name}"]["attributes"]
        for field in FIELDS:
            ours = getattr(layer, field)
            ours = list(ours) if isinstance(ours, tuple) else ours
            assert np.allclose(ours, stored[field], rtol=1e-12), (layer.name, field)
        for key, ours in zip(("up_filter", "down_filter"), design_filters(layer), strict=True):
            name = f"synthesis.{layer.name}.{key}"
            if ours is None:
                assert name not in params.files
            else:
                assert np.abs(ours.numpy() - params[name]).max() < 1e-7, name


def test_lowpass_matches_scipy_firwin() -> None:
    for taps, cutoff, width, fs in [(12, 2.0, 12.0, 32), (24, 5.04, 9.65, 64), (13, 3, 4, 20)]:
        ours = lowpass_1d(taps, cutoff, width, fs)
        ref = scipy.signal.firwin(numtaps=taps, cutoff=cutoff, width=width, fs=fs)
        assert np.abs(ours - ref).max() < 1e-12


def test_camera_transform_matches_golden_case() -> None:
    name = "transform_tx0.3_ty-0.2_rot25_seed1_psi1.0_const.npz"
    case = np.load(GOLDEN / "sg3t_32" / "cases" / name)
    ours = camera_transform((0.3, -0.2), 25).numpy()
    assert np.abs(ours - case["transform"]).max() < 1e-6


def test_spec_json_round_trip() -> None:
    from installation.models.spec import MappingSpec

    spec = NetworkSpec(
        architecture="stylegan3-t",
        mapping=MappingSpec(
            z_dim=8, c_dim=0, w_dim=8, num_ws=16, num_layers=2, embed_features=0, layer_features=8
        ),  # fmt: skip
        synthesis=design_synthesis(w_dim=8, img_resolution=16, channel_base=256, channel_max=16),
    )
    assert NetworkSpec.from_json(spec.to_json()) == spec
    with pytest.raises(ValueError, match="malformed"):
        NetworkSpec.from_json('{"mapping": {}}')
    assert torch.is_tensor(camera_transform())
