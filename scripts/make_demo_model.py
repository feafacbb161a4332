"""Create the embedded demo generator (assets/demo/demo-sg3.safetensors) deterministically.

It is an UNTRAINED StyleGAN3-T-style network: nothing was learned from any image. Its weights are
drawn from a fixed seed and shaped by hand, in the tradition of random-network (CPPN) art, where
a small network of simple functions of the pixel position paints the picture:
- the input Fourier waves span 1/30 of the band to its edge, in four bands of scale; the first
  layer's styles turn whole bands up or down with w, so each seed has its own dominant scale
  (large forms, or a fine pattern);
- w also turns the waves (the input affine), so seeds do not share one orientation;
- the convolutions are mostly their centre tap: the layers act per pixel, as a CPPN does;
- one middle layer works in pairs of channels: the same field at two nearby levels, pushed hard
  into its clamp; the next layer takes their differences, which are thin lines along the
  field's contours, and their sums, which are hard edges;
- every layer's input gain is calibrated (magnitude_ema) on sample images;
- the output layer maps the channel directions that vary most within an image (and least from
  image to image, so a seed is not one flat colour) to saturated hues, and its styles move with
  w, so each seed has its own palette; the contrast is set so that few pixels clip.

Run: python scripts/make_demo_model.py [--out assets/demo/demo-sg3.safetensors]
"""

from __future__ import annotations

import argparse
import colorsys
import dataclasses
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from installation.models import Generator, save_generator  # noqa: E402
from installation.models.spec import MappingSpec, NetworkSpec  # noqa: E402
from installation.models.stylegan3 import design_synthesis  # noqa: E402

SEED = 20261124
Z_DIM = W_DIM = 64
RESOLUTION = 256
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "assets" / "demo" / "demo-sg3.safetensors"

BANDS = 4  # scale bands of the input waves, switched by w in the first layer
LOWEST_WAVE = 1 / 30  # the lowest input frequency, relative to the input bandwidth
LINE_LAYER = 3  # the layer of channel pairs; the next one draws lines and edges from them
LINE_GAIN = 8.0  # input gain of the pair layer: its channels saturate (clamp) into steps
LINE_CLAMP = 1.0  # that layer's activation clamp (the others keep NVIDIA's 256)
LINE_HALF_WIDTH = 0.035  # half the distance between a pair's two levels, in field rms
TONE_LAYER = 7  # the last layer before the colours: clamped too, a soft tone curve ...
TONE_GAIN = 2.5  # ... so every seed reaches full contrast, and few pixels clip
GAINS = (1.5, 1.5, 1.5, LINE_GAIN, 1.0, 1.0, 1.0, TONE_GAIN)  # input gain per layer (x 1/rms)
CLIPPED_SHARE = 0.025  # share of calibration pixels allowed to clip (any channel)
CALIBRATION_IMAGES = 64


def demo_spec() -> NetworkSpec:
    """The demo network: StyleGAN3-T layout, 8 layers, at most 64 channels, 256 px."""
    synthesis = design_synthesis(
        w_dim=W_DIM,
        img_resolution=RESOLUTION,
        channel_base=2048,
        channel_max=64,
        num_layers=8,
        num_critical=2,
        first_cutoff=6,  # more waves across the image than NVIDIA's 2
        first_stopband=9.5,
        margin_size=8,
        output_scale=1.0,
        conv_kernel=3,
        lrelu_upsampling=1,  # no oversampled nonlinearity: some aliasing, 3x cheaper
    )
    layers = tuple(
        dataclasses.replace(layer, conv_clamp=LINE_CLAMP)
        if index in (LINE_LAYER, TONE_LAYER)
        else layer
        for index, layer in enumerate(synthesis.layers)
    )
    synthesis = dataclasses.replace(synthesis, layers=layers)
    mapping = MappingSpec(
        z_dim=Z_DIM, c_dim=0, w_dim=W_DIM, num_ws=synthesis.num_ws, num_layers=2,
        embed_features=0, layer_features=W_DIM, lr_multiplier=0.01, w_avg_beta=0.998,
    )  # fmt: skip
    return NetworkSpec(
        architecture="stylegan3-t",
        mapping=mapping,
        synthesis=synthesis,
        source_format="latent-walk",
        code_generation="latent-walk demo (untrained, deterministic)",
        extra={"note": "untrained abstract demo network made by scripts/make_demo_model.py"},
    )


def hue_palette(n: int, gen: torch.Generator) -> torch.Tensor:
    """[3, n] colours: n - 1 saturated hues and white (light and dark), centred on grey."""
    hues = (torch.arange(n - 1) / (n - 1) + torch.rand(n - 1, generator=gen) * 0.3) % 1.0
    rgb = torch.tensor([colorsys.hsv_to_rgb(float(h), 1.0, 1.0) for h in hues] + [(1, 1, 1)]).t()
    rgb = (rgb - 0.5) * 2  # [-1, 1]
    return rgb - rgb.mean(dim=1, keepdim=True)  # zero-sum: activity shared by all channels cancels


@torch.no_grad()
def make_demo_generator(
    seed: int = SEED,
    spec: NetworkSpec | None = None,
    *,
    band_scale: float = 1.5,
    style_scale: float = 0.4,
    palette_scale: float = 0.6,
    bias_scale: float = 0.5,
    turn_scale: float = 0.7,
) -> Generator:
    """Build the demo generator; identical output for the same seed on any machine.

    Args:
        band_scale: how strongly w turns the input's scale bands up and down (scale variety).
        style_scale: how strongly w modulates the channels of the middle layers.
        palette_scale: how strongly w reweights the output colours (palette variety).
        bias_scale: layer bias spread relative to the calibrated activations (more creases).
        turn_scale: how much w rotates the input waves.
    """
    gen = torch.Generator().manual_seed(seed)
    randn = lambda *shape: torch.randn(*shape, generator=gen)  # noqa: E731
    G = Generator(spec or demo_spec())
    mapping = G.mapping
    for i in range(mapping.spec.num_layers):
        fc = getattr(mapping, f"fc{i}")
        fc.weight.copy_(randn(*fc.weight.shape) / mapping.spec.lr_multiplier)
        fc.bias.zero_()
    z = randn(4096, Z_DIM)
    mapping.w_avg.copy_(mapping(z)[:, 0].mean(dim=0))

    syn = G.synthesis
    inp = syn.input
    c = inp.channels
    # log-uniform radii, sorted: channel 0 has the highest frequency; each band mixes its own
    # waves only (random directions at one scale), so a band keeps its scale through the mix
    order = torch.sort(torch.rand(c, generator=gen)).values
    radius = inp.bandwidth * torch.exp(order * math.log(LOWEST_WAVE))
    angle = torch.rand(c, generator=gen) * 2 * math.pi
    inp.freqs.copy_(torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1))
    inp.phases.copy_(torch.rand(c, generator=gen) - 0.5)
    band = (torch.arange(c) * BANDS) // c  # [C] band of each channel
    same_band = (band[:, None] == band[None, :]).float()
    inp.weight.copy_(randn(c, c) * same_band * math.sqrt(BANDS))
    turn = randn(4, W_DIM) * 0.12  # gentle shifts as w moves ...
    turn[:2] = randn(2, W_DIM) * turn_scale  # ... and turns: every seed has its own angle
    inp.affine.weight.copy_(turn)
    inp.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
    band_directions = randn(BANDS, W_DIM)

    for index, name in enumerate(syn.layer_names):
        layer = getattr(syn, name)
        weight = randn(*layer.weight.shape)
        if weight.shape[-1] == 3:  # mostly the centre tap: a per-pixel network, like a CPPN
            centre = torch.zeros(3, 3)
            centre[1, 1] = 3.0
            weight = 0.1 * weight + 0.9 * weight[:, :, 1:2, 1:2] * centre
        bias = randn(*layer.bias.shape) * (0.0 if layer.is_torgb else bias_scale)
        if index == LINE_LAYER:  # pairs: one field at two nearby levels
            pairs = weight.shape[0] // 2
            weight[1 : 2 * pairs : 2] = weight[0 : 2 * pairs : 2]
            level = bias[0 : 2 * pairs : 2].clone()
            bias[0 : 2 * pairs : 2] = (level + LINE_HALF_WIDTH) * LINE_GAIN
            bias[1 : 2 * pairs : 2] = (level - LINE_HALF_WIDTH) * LINE_GAIN
        if index == LINE_LAYER + 1:  # most outputs take pair differences: contour lines
            pairs = weight.shape[1] // 2
            draws_lines = torch.rand(weight.shape[0], generator=gen) < 0.7
            first = weight[:, 0 : 2 * pairs : 2]
            weight[draws_lines, 1 : 2 * pairs : 2] = -first[draws_lines]
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
        if index == 0:  # styles switch whole scale bands of the input
            styles = band_directions[band] * band_scale + randn(c, W_DIM) * 0.3
            layer.affine.weight.copy_(styles)
            layer.affine.bias.zero_()
        else:
            scale = palette_scale if layer.is_torgb else style_scale
            layer.affine.weight.copy_(randn(*layer.affine.weight.shape) * scale)
            layer.affine.bias.fill_(0.5 if layer.is_torgb else 1.0)
    calibrate(G, gen)
    return G


def calibrate(G: Generator, gen: torch.Generator) -> None:
    """Set each layer's input gain (magnitude_ema) and the output colours on sample images."""
    syn = G.synthesis
    z = torch.randn(CALIBRATION_IMAGES, G.z_dim, generator=gen)
    ws = G.mapping(z, truncation_psi=0.8).unbind(dim=1)
    x = syn.input(ws[0])
    for index, (name, w) in enumerate(zip(syn.layer_names, ws[1:], strict=True)):
        layer = getattr(syn, name)
        gain = GAINS[index] if index < len(GAINS) else 1.0
        layer.magnitude_ema.fill_(float(x.square().mean()) / gain**2)
        if layer.is_torgb:
            layer.weight.copy_(colour_weights(layer, x, w, gen))
        x = layer(x, w, torch.float32)
    # contrast: the largest channel of CLIPPED_SHARE of the pixels reaches the clip level
    rgb = getattr(syn, syn.layer_names[-1])
    mean = x.mean(dim=(0, 2, 3))  # [3]
    peak = (x - mean[None, :, None, None]).abs().amax(dim=1).flatten()  # [pixels]
    scale = 1.0 / float(torch.quantile(peak[::3], 1 - CLIPPED_SHARE))
    rgb.weight.mul_(scale)
    rgb.bias.copy_(-mean * scale)  # centre each colour channel


def colour_weights(
    layer: torch.nn.Module,
    x: torch.Tensor,
    w: torch.Tensor,
    gen: torch.Generator,
    between_penalty: float = 16.0,
    hues: int = 4,
) -> torch.Tensor:
    """Output-layer weights [3, C, 1, 1]: `hues` saturated colours on the best channel directions.

    Best: most variance within an image per unit of variance between images' means (whitened by
    penalty x between + within, then the top directions of the within part), so colour comes as
    contrast inside each picture rather than as one flat tint per seed.
    """
    styles = layer.affine(w) * layer.weight_gain  # [N, C], as the layer modulates its input
    y = (x * styles[:, :, None, None] * layer.magnitude_ema.rsqrt()).double()  # [N, C, H, W]
    channels = y.shape[1]
    means = y.mean(dim=(2, 3))  # [N, C]
    inside = (y - means[:, :, None, None]).transpose(0, 1).reshape(channels, -1)
    within = inside @ inside.t() / inside.shape[1]  # [C, C]
    between = torch.cov(means.t())  # [C, C]
    vals, vecs = torch.linalg.eigh(between_penalty * between + within)
    whiten = vecs @ torch.diag(vals.clamp_min(vals.max() * 1e-6).rsqrt()) @ vecs.t()
    _, directions = torch.linalg.eigh(whiten @ within @ whiten)  # ascending
    best = directions[:, -hues:]  # [C, hues]
    palette = hue_palette(hues, gen).double()  # [3, hues]
    return (palette @ best.t() @ whiten).float().reshape(3, -1, 1, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    G = make_demo_generator(args.seed)
    path = save_generator(G, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, {G.num_parameters():,} parameters)")


if __name__ == "__main__":
    main()
