"""`latent-walk directions`: PCA of w on the tiny model is orthonormal, sorted and honest."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from installation.cli import main
from installation.models import save_generator
from installation.tools.directions import principal_axes
from tiny_models import TINY_W_DIM, tiny_sg3

SAMPLES = 20_000


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny StyleGAN3 as a .safetensors file the CLI can load."""
    return save_generator(tiny_sg3(), tmp_path_factory.mktemp("dirs") / "tiny.safetensors")


@pytest.fixture(scope="module")
def dirs(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """A PCA of the tiny model's w with every direction, plus a preview sheet."""
    out = tmp_path_factory.mktemp("pca") / "dirs.npz"
    args = ["directions", str(tiny_model), "--count", str(TINY_W_DIM)]
    args += ["--samples", str(SAMPLES), "--batch", "3000", "--out", str(out)]
    args += ["--preview", str(out.with_suffix(".png")), "--preview-steps", "3"]
    assert main([*args, "--tile-px", "16"]) == 0
    with np.load(out, allow_pickle=False) as npz:
        arrays = dict(npz)
    arrays["preview"] = iio.imread(out.with_suffix(".png"))
    return arrays


def fresh_w(count: int, seed: int) -> np.ndarray:
    """w [count, w_dim] from z drawn independently of the PCA's samples."""
    G = tiny_sg3()
    z = torch.from_numpy(np.random.default_rng(seed).standard_normal((count, G.z_dim)))
    with torch.inference_mode():
        return G.mapping(z.float(), None)[:, 0].double().numpy()


def test_directions_are_orthonormal_with_sorted_shares(dirs: dict[str, np.ndarray]) -> None:
    D = dirs["directions"].astype(np.float64)  # [K, w_dim]
    assert D.shape == (TINY_W_DIM, TINY_W_DIM)
    assert np.linalg.norm(D @ D.T - np.eye(len(D))) < 1e-5
    share = dirs["variance_share"]
    assert np.all(np.diff(share) <= 0) and np.all(share >= 0)
    assert share.sum() <= 1 + 1e-5
    assert share.sum() > 0.999  # all w_dim directions explain all the variance
    assert list(dirs["names"][:3]) == ["pc0", "pc1", "pc2"]
    assert dirs["layers"].tolist()[0] == [0, 15]
    # sign convention: the largest-magnitude component of each direction is positive
    assert np.all(D[np.arange(len(D)), np.abs(D).argmax(axis=1)] > 0)


def test_top_share_and_std_match_fresh_samples(dirs: dict[str, np.ndarray]) -> None:
    w = fresh_w(20_000, seed=123)
    projections = (w - w.mean(axis=0)) @ dirs["directions"].astype(np.float64).T  # [n, K]
    total = w.var(axis=0, ddof=1).sum()
    empirical_share = projections.var(axis=0, ddof=1) / total
    assert empirical_share[0] == pytest.approx(dirs["variance_share"][0], rel=0.05)
    assert empirical_share[0] > empirical_share[-1] * 2  # the top axis is not just any axis
    std0 = projections[:, 0].std(ddof=1)
    assert std0 == pytest.approx(dirs["std"][0], rel=0.05)
    np.testing.assert_allclose(dirs["mean_w"], w.mean(axis=0), atol=0.05 * np.sqrt(total))


def test_preview_has_a_row_per_direction(dirs: dict[str, np.ndarray]) -> None:
    preview = dirs["preview"]
    rows = [preview[:, :16], preview[:, -16:]]  # first and last column of tiles
    assert preview.shape[0] > TINY_W_DIM * 16  # 8 rows of tiles and labels
    assert not np.array_equal(rows[0], rows[1])  # -k and +k differ


def test_same_seed_same_file_and_eigh_sign_is_fixed(tiny_model: Path, tmp_path: Path) -> None:
    outs = [tmp_path / "a.npz", tmp_path / "b.npz"]
    for out in outs:
        assert main(["directions", str(tiny_model), "--count", "3", "--samples", "2000",
                     "--out", str(out)]) == 0  # fmt: skip
    a, b = (np.load(out) for out in outs)
    np.testing.assert_array_equal(a["directions"], b["directions"])
    cov = np.diag([1.0, 4.0, 2.0])
    pca = principal_axes(np.zeros(3), cov, 3)
    np.testing.assert_allclose(pca.vectors, [[0, 1, 0], [0, 0, 1], [1, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(pca.variances, [4, 2, 1])


def test_per_layer_range_variants(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "ranges.npz"
    args = ["directions", str(tiny_model), "--count", "2", "--samples", "2000"]
    assert main([*args, "--layers", "0-3", "--layers", "8-", "--out", str(out)]) == 0
    with np.load(out) as npz:
        assert npz["directions"].shape == (4, 16, TINY_W_DIM)
        assert list(npz["names"]) == ["pc0_0-3", "pc1_0-3", "pc0_8-15", "pc1_8-15"]
        assert npz["layers"].tolist() == [[0, 3], [0, 3], [8, 15], [8, 15]]
        d = npz["directions"]
        assert np.all(d[0, 4:] == 0) and np.all(d[2, :8] == 0)
        np.testing.assert_allclose(d[0, 0], d[2, 15])  # the same pc0 on other rows
        np.testing.assert_allclose(np.linalg.norm(d[0, 2]), 1, atol=1e-6)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--count", "99"], "--count 99: w has only 8 dimensions"),
        (["--layers", "0,5"], "one contiguous range"),
        (["--count", "3", "--samples", "1"], "at least 2"),
    ],
)
def test_bad_input_is_one_line(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture, extra: list[str], needle: str
) -> None:
    args = ["directions", str(tiny_model), "--out", str(tmp_path / "x.npz"), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


def test_bad_model_is_one_line(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"not a pickle")
    assert main(["directions", str(junk), "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert str(junk) in err and "\n" not in err
