"""The shipped demo model: reproducible from its script, small, varied, vivid and unclipped."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from installation.models import load_generator
from installation.models.latents import seed_z, to_uint8

ROOT = Path(__file__).resolve().parents[3]
ASSET = ROOT / "assets" / "demo" / "demo-sg3.safetensors"
sys.path.insert(0, str(ROOT / "scripts"))

from make_demo_model import make_demo_generator  # noqa: E402

SEEDS = 64


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness of an [H, W, 3] uint8 image (about 0 = grey)."""
    r, g, b = (rgb[..., i].astype(float) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def dominant_frequency(rgb: np.ndarray) -> int:
    """Cycles per image of the strongest ring of the grey image's power spectrum (mean removed)."""
    grey = rgb.astype(float).mean(axis=2)
    size = grey.shape[0]
    power = np.abs(np.fft.fft2(grey - grey.mean())) ** 2
    f = np.fft.fftfreq(size) * size
    ring = np.rint(np.hypot(f[:, None], f[None, :])).astype(int)  # [H, W] cycles per image
    per_ring = np.bincount(ring.ravel(), power.ravel())[1 : size // 2]  # rings 1 .. size/2 - 1
    return int(np.argmax(per_ring)) + 1


def test_asset_is_what_the_script_makes() -> None:
    assert ASSET.is_file() and ASSET.stat().st_size < 20e6
    shipped = load_generator(ASSET)
    rebuilt = make_demo_generator()
    assert shipped.spec == rebuilt.spec
    # random draws are bit-exact; calibrated values (gains, colours) may differ in the last bits
    # between CPUs and batch paths, since oneDNN picks different kernels per instruction set
    rebuilt_state = rebuilt.state_dict()
    for name, a in shipped.state_dict().items():
        assert torch.allclose(a, rebuilt_state[name], rtol=1e-3, atol=1e-5), name


def test_demo_images_are_varied_vivid_and_unclipped() -> None:
    """64 seeds as a show renders them (fast precision, psi 0.8): issue 14's bars for the demo."""
    G = load_generator(ASSET).set_precision("fast")
    assert (G.img_resolution, G.architecture) == (256, "stylegan3-t")
    z = torch.cat([seed_z(s, G.z_dim) for s in range(SEEDS)])
    with torch.inference_mode():
        imgs = np.concatenate([to_uint8(G(z[i : i + 16], truncation_psi=0.8)) for i in
                               range(0, SEEDS, 16)])  # fmt: skip
        average = to_uint8(G(z[:1], truncation_psi=0.0))[0]  # w_avg: the average image
    clipped = ((imgs == 0) | (imgs == 255)).any(axis=3).mean()  # pixels with a channel at 0/255
    frequencies = [dominant_frequency(img) for img in imgs]
    scores = [colourfulness(img) for img in imgs]
    print(f"clipped {clipped:.2%}, dominant frequency {min(frequencies)}..{max(frequencies)}"
          f" cycles/image, colourfulness median {np.median(scores):.0f},"
          f" average image {colourfulness(average):.0f}")  # fmt: skip
    assert clipped <= 0.05
    assert max(frequencies) >= 4 * min(frequencies)  # large forms and fine patterns
    assert np.percentile(frequencies, 90) >= 2 * np.percentile(frequencies, 10)  # not one outlier
    assert colourfulness(average) >= 0.5 * np.median(scores)  # no grey mush near the average
    assert min(scores) > 25  # "moderately colourful" and up on Hasler's scale, every seed
    # structure: neighbouring pixels differ at fine scale, and big regions differ at coarse scale
    grey = imgs.astype(float).mean(axis=3)
    fine = np.abs(np.diff(grey, axis=2)).mean()
    coarse = grey.reshape(SEEDS, 4, 64, 4, 64).mean(axis=(2, 4)).std(axis=(1, 2)).mean()
    assert fine > 0.5 and coarse > 5, (fine, coarse)
    # different seeds give different pictures, and different mean colours (palettes)
    assert np.abs(imgs[0].astype(int) - imgs[1].astype(int)).mean() > 20
    assert imgs.reshape(SEEDS, -1, 3).mean(axis=1).std(axis=0).mean() > 10


def test_fast_precision_close_to_exact() -> None:
    G = load_generator(ASSET)
    z = seed_z(3, G.z_dim)
    with torch.inference_mode():
        exact = G(z)
        fast = G.set_precision("fast")(z)
    mse = float((exact.clamp(-1, 1) - fast.clamp(-1, 1)).square().mean())
    assert fast.dtype == torch.float32
    assert 10 * np.log10(4 / mse) > 30
