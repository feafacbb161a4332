"""The latent-walk CLI on NVIDIA-format pickles built from the golden data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from golden_pickles import GOLDEN, build_hostile_pickles, build_torch_pickle
from installation.cli import main, parse_int_ranges, parse_layer_range
from installation.models.latents import to_uint8

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pkl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli")
    for model in ("sg2_32", "sg3t_32", "sg2ada_cond_32"):
        build_torch_pickle(model, out / f"{model}.pkl")
    return out


def test_inspect_json(pkl_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["inspect", str(pkl_dir / "sg3t_32.pkl"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["architecture"] == "stylegan3-t"
    assert (info["resolution"], info["num_ws"], info["z_dim"], info["c_dim"]) == (32, 16, 64, 0)
    assert info["parameters"] == 488517
    assert "G_ema" in info["where"]
    assert len(info["layers"]) == 15
    assert info["fp16_layers"]  # SG3 marks its high-rate layers fp16
    # which resampling kernels would run, and why (here: no CUDA device, the torch path)
    assert info["kernels"].startswith(("torch (", "cuda ("))


def test_inspect_text_via_module(pkl_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "installation", "inspect", str(pkl_dir / "sg2_32.pkl")],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "stylegan2" in proc.stdout and "skip" in proc.stdout and "b32: 32 ch" in proc.stdout


def test_generate_matches_nvidia_uint8(pkl_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "imgs"
    args = ["generate", str(pkl_dir / "sg2_32.pkl"), "--seeds", "0-2", "--psi", "0.5"]
    assert main([*args, "--out", str(out), "--grid", "--w-out"]) == 0
    for seed in range(3):
        ref = np.load(GOLDEN / "sg2_32" / "cases" / f"seed{seed}_psi0.5_const.npz")
        png = iio.imread(out / f"seed{seed:04d}.png")
        expected = to_uint8(torch.from_numpy(ref["img"]))[0]
        # rounding at a uint8 boundary may differ by one level for a few pixels
        assert np.abs(png.astype(int) - expected.astype(int)).max() <= 1
        ws = np.load(out / f"seed{seed:04d}.npy")
        assert ws.shape == (8, 64) and np.allclose(ws, ref["ws"][0], atol=1e-4)
    assert iio.imread(out / "grid.png").shape == (32, 96, 3)  # 3 images: one row, no empty cell


def test_generate_camera_and_mixing(pkl_dir: Path, tmp_path: Path) -> None:
    model = str(pkl_dir / "sg3t_32.pkl")
    assert main(["generate", model, "--seeds", "1", "--translate", "0.3,-0.2", "--rotate", "25",
                 "--out", str(tmp_path / "a")]) == 0  # fmt: skip
    ref = np.load(
        GOLDEN / "sg3t_32" / "cases" / "transform_tx0.3_ty-0.2_rot25_seed1_psi1.0_const.npz"
    )
    png = iio.imread(tmp_path / "a" / "seed0001.png")
    expected = to_uint8(torch.from_numpy(ref["img"]))[0]
    assert np.abs(png.astype(int) - expected.astype(int)).max() <= 1
    assert main(["generate", model, "--seeds", "0", "--mix-seed", "1", "--mix-layers", "8-",
                 "--out", str(tmp_path / "m"), "--w-out"]) == 0  # fmt: skip
    mix = np.load(GOLDEN / "sg3t_32" / "cases" / "mix_seed0_seed1_from8_psi1.0_const.npz")
    png = iio.imread(tmp_path / "m" / "seed0000.png")
    assert np.abs(png.astype(int) - to_uint8(torch.from_numpy(mix["img"]))[0]).max() <= 1


def test_generate_errors(pkl_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["generate", str(pkl_dir / "sg2_32.pkl"), "--rotate", "5",
                 "--out", str(tmp_path)]) == 2  # fmt: skip
    assert "StyleGAN3" in capsys.readouterr().err
    assert main(["generate", str(pkl_dir / "sg2ada_cond_32.pkl"), "--out", str(tmp_path)]) == 2
    assert "--class 0..3" in capsys.readouterr().err
    assert main(["generate", str(pkl_dir / "sg2ada_cond_32.pkl"), "--class", "3",
                 "--out", str(tmp_path / "c")]) == 0  # fmt: skip
    ref = np.load(GOLDEN / "sg2ada_cond_32" / "cases" / "seed0_class3_psi1.0_const.npz")
    png = iio.imread(tmp_path / "c" / "seed0000.png")
    assert np.abs(png.astype(int) - to_uint8(torch.from_numpy(ref["img"]))[0]).max() <= 1


def test_convert_round_trip(pkl_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "g.safetensors"
    assert main(["convert", str(pkl_dir / "sg3t_32.pkl"), str(out)]) == 0
    assert "renders identically" in capsys.readouterr().out
    assert main(["inspect", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["source_format"] == "nvidia torch pickle" and info["parameters"] == 488517


def test_hostile_pickle_refused_by_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    paths = build_hostile_pickles(tmp_path)
    path = next(iter(paths.values()))
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "refused" in err
    assert not list(tmp_path.glob("PWNED*"))


def test_missing_and_garbage_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["inspect", str(tmp_path / "nope.pkl")]) == 2
    assert "no such file" in capsys.readouterr().err
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"\x00\x01not a pickle at all")
    assert main(["inspect", str(junk)]) == 2
    assert str(junk) in capsys.readouterr().err


def test_ranges() -> None:
    assert parse_int_ranges("0,1,4-6") == [0, 1, 4, 5, 6]
    assert parse_layer_range("8-", 16) == list(range(8, 16))
    assert parse_layer_range("coarse", 14) == [0, 1, 2, 3]
    with pytest.raises(Exception, match="outside"):
        parse_layer_range("10-20", 16)
