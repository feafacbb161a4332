"""Deterministic random weights for a freshly built Generator (tests, benchmarks, new networks).

Scaled the way a trained network's weights are used at run time: unit-variance weights under the
equalized-learning-rate gains, affine biases at 1, StyleGAN3 frequencies inside the input band,
and each StyleGAN3 layer's magnitude_ema calibrated to its real input, so images stay in range.
"""

from __future__ import annotations

import math

import torch

from .generator import Generator
from .latents import class_vector


@torch.no_grad()
def initialize_random(G: Generator, seed: int = 0) -> Generator:
    """Fill every parameter and buffer of G from `seed`; returns G."""
    gen = torch.Generator().manual_seed(seed)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen)

    for name, param in G.named_parameters():
        if name.endswith("affine.bias"):
            param.fill_(1.0)
        elif name.startswith("mapping.") and name.endswith("weight"):
            param.copy_(randn(*param.shape) / G.spec.mapping.lr_multiplier)
        elif name.endswith("noise_strength"):
            param.fill_(0.1)
        elif name.endswith("bias"):
            param.copy_(randn(*param.shape) * 0.1)
        else:
            param.copy_(randn(*param.shape))
    for name, buf in G.named_buffers():
        if name.endswith("noise_const"):
            buf.copy_(randn(*buf.shape))
    G.mapping.w_avg.zero_()
    G.mapping.w_avg.copy_(G.mapping(randn(256, G.z_dim), _labels(G, 256))[:, 0].mean(dim=0))
    if G.is_stylegan3:
        _init_sg3_input(G, gen)
        calibrate_magnitudes(G, seed)
    return G


def _labels(G: Generator, n: int) -> torch.Tensor | None:
    """One-hot labels [n, c_dim] cycling through the classes (None: unconditional)."""
    return class_vector(G.c_dim, torch.arange(n) % G.c_dim) if G.c_dim else None


def _init_sg3_input(G: Generator, gen: torch.Generator) -> None:
    inp = G.synthesis.input
    c = inp.channels
    radius = inp.bandwidth * torch.rand(c, generator=gen).sqrt()  # uniform in the disc
    angle = torch.rand(c, generator=gen) * 2 * math.pi
    inp.freqs.copy_(torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1))
    inp.phases.copy_(torch.rand(c, generator=gen) - 0.5)
    inp.affine.weight.zero_()
    inp.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
    inp.transform.copy_(torch.eye(3))


@torch.no_grad()
def calibrate_magnitudes(G: Generator, seed: int = 0, samples: int = 4) -> None:
    """Set each StyleGAN3 layer's magnitude_ema to the mean square of its input on random ws."""
    syn = G.synthesis
    gen = torch.Generator().manual_seed(seed + 1)
    z = torch.randn(samples, G.z_dim, generator=gen)
    ws = G.mapping(z, _labels(G, samples)).unbind(dim=1)
    x = syn.input(ws[0])
    for name, w in zip(syn.layer_names, ws[1:], strict=True):
        layer = getattr(syn, name)
        layer.magnitude_ema.fill_(float(x.square().mean()))
        x = layer(x, w, torch.float32)
