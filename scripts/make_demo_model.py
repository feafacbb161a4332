"""Create the embedded demo generator (assets/demo/demo-sg3.safetensors) deterministically.

It is an UNTRAINED StyleGAN3-T-style network: nothing was learned from any image. Its weights are
drawn from a fixed seed and shaped so that its images are colourful abstract fields with
structure at several scales, in the tradition of random-network (CPPN) art:
- input Fourier frequencies fill the whole band (uniform in the disc), so coarse and fine waves mix;
- every layer's input gain is calibrated (magnitude_ema) so activations neither die nor explode;
- style affines are strong, so moving w reshapes the image, and the input affine turns and
  shifts the Fourier features a little as w moves;
- the output layer maps channels to saturated hues.

Run: python scripts/make_demo_model.py [--out assets/demo/demo-sg3.safetensors]
"""

from __future__ import annotations

import argparse
import colorsys
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
    """[3, n] saturated colours, centred so their mean is grey."""
    hues = (torch.arange(n) / n + torch.rand(n, generator=gen) * 0.3) % 1.0
    rgb = torch.tensor([colorsys.hsv_to_rgb(float(h), 1.0, 1.0) for h in hues]).t()
    rgb = (rgb - 0.5) * 2  # [-1, 1]
    return rgb - rgb.mean(dim=1, keepdim=True)  # zero-sum: activity shared by all channels cancels


@torch.no_grad()
def make_demo_generator(
    seed: int = SEED,
    spec: NetworkSpec | None = None,
    *,
    bias_scale: float = 0.3,
    style_scale: float = 0.4,
    turn_scale: float = 0.12,
    contrast: float = 0.75,
) -> Generator:
    """Build the demo generator; identical output for the same seed on any machine.

    Args:
        bias_scale: layer bias spread relative to the (calibrated, unit) activations: more bias,
            more creases where the leaky ReLU folds the field.
        style_scale: how strongly w modulates each channel (how much the image changes as w moves).
        turn_scale: how much w rotates and shifts the input Fourier features.
        contrast: output standard deviation (about 1 = vivid with some clipping).
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
    # log-uniform radii from 1/30 of the band to its edge: waves at every scale, not just fine ones
    radius = inp.bandwidth * torch.exp(torch.rand(c, generator=gen) * math.log(1 / 30))
    angle = torch.rand(c, generator=gen) * 2 * math.pi
    inp.freqs.copy_(torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1))
    inp.phases.copy_(torch.rand(c, generator=gen) - 0.5)
    inp.weight.copy_(randn(c, c))
    inp.affine.weight.copy_(randn(4, W_DIM) * turn_scale)  # gentle turns and shifts as w moves
    inp.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))

    for name in syn.layer_names:
        layer = getattr(syn, name)
        layer.weight.copy_(randn(*layer.weight.shape))
        layer.bias.copy_(randn(*layer.bias.shape) * (0.0 if layer.is_torgb else bias_scale))
        layer.affine.weight.copy_(randn(*layer.affine.weight.shape) * style_scale)
        layer.affine.bias.fill_(1.0)
    calibrate(G, gen, contrast)
    return G


def calibrate(G: Generator, gen: torch.Generator, contrast: float, samples: int = 8) -> None:
    """Set each layer's magnitude_ema to its mean input square, so each input gain is ~1/rms."""
    syn = G.synthesis
    z = torch.randn(samples, G.z_dim, generator=gen)
    ws = G.mapping(z).unbind(dim=1)
    x = syn.input(ws[0])
    for name, w in zip(syn.layer_names, ws[1:], strict=True):
        layer = getattr(syn, name)
        layer.magnitude_ema.fill_(float(x.square().mean()))
        if layer.is_torgb:
            layer.weight.copy_(colour_weights(layer, x, w, gen))
        x = layer(x, w, torch.float32)
    # final contrast: scale the output so the image spans about [-1, 1] with some saturation
    rgb = getattr(syn, syn.layer_names[-1])
    spread = float(x.std())  # over pixels and samples: image-to-image colour shifts count too
    rgb.weight.mul_(contrast / spread)
    rgb.bias.copy_(-x.mean(dim=(0, 2, 3)) * contrast / spread)  # centre each colour channel


def colour_weights(
    layer: torch.nn.Module, x: torch.Tensor, w: torch.Tensor, gen: torch.Generator
) -> torch.Tensor:
    """Output-layer weights [3, C, 1, 1]: a hue palette applied to whitened channels.

    The channels feeding the output are strongly correlated, so a plain palette mixes to a few
    hues; whitening them first (ZCA over pixels and samples) gives every hue its share.
    """
    styles = layer.affine(w) * layer.weight_gain  # [N, C], as the layer modulates its input
    y = x * styles[:, :, None, None] * layer.magnitude_ema.rsqrt()
    y = y.transpose(0, 1).reshape(y.shape[1], -1).double()  # [C, pixels]
    cov = torch.cov(y)
    vals, vecs = torch.linalg.eigh(cov)
    whiten = vecs @ torch.diag(vals.clamp_min(vals.max() * 1e-6).rsqrt()) @ vecs.t()
    palette = hue_palette(y.shape[0], gen).double()  # [3, C]
    return (palette @ whiten).float().reshape(3, -1, 1, 1)


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
