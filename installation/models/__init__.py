"""Generators: load NVIDIA StyleGAN2/StyleGAN3 files safely and render them exactly.

G = load_generator("ffhq.pkl", device="cpu")
ws = G.mapping(z, c, truncation_psi=0.7)
img = G.synthesis(ws, noise_mode="const")
"""

from .checkpoint import save_generator
from .generator import Generator
from .load import load_generator
from .spec import NetworkSpec

__all__ = ["Generator", "NetworkSpec", "load_generator", "save_generator"]
