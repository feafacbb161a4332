"""The tiny random generator that tests render with (fast to build, deterministic)."""

from __future__ import annotations

from pathlib import Path

from installation.models import Generator, save_generator
from installation.models.random_init import initialize_random
from installation.models.spec import MappingSpec, NetworkSpec
from installation.models.stylegan3 import design_synthesis

TINY_W_DIM = 8
TINY_SIZE_PX = 16


def tiny_sg3(seed: int = 0) -> Generator:
    """A random StyleGAN3-T: z = w = 8, 16 ws, 16 px, at most 16 channels."""
    synthesis = design_synthesis(
        w_dim=TINY_W_DIM, img_resolution=TINY_SIZE_PX, channel_base=256, channel_max=16
    )
    mapping = MappingSpec(
        z_dim=TINY_W_DIM, c_dim=0, w_dim=TINY_W_DIM, num_ws=synthesis.num_ws, num_layers=2,
        embed_features=0, layer_features=TINY_W_DIM,
    )  # fmt: skip
    G = Generator(NetworkSpec(architecture="stylegan3-t", mapping=mapping, synthesis=synthesis))
    return initialize_random(G, seed=seed).eval()


def wide_tiny_sg3(seed: int = 0) -> Generator:
    """A random StyleGAN3-T of 16 px with z = w = 64: tiny images, but a latent space wide
    enough that random directions are nearly orthogonal, as in real models (w_dim 8 is not)."""
    synthesis = design_synthesis(w_dim=64, img_resolution=TINY_SIZE_PX, channel_base=256,
                                 channel_max=16)  # fmt: skip
    mapping = MappingSpec(
        z_dim=64, c_dim=0, w_dim=64, num_ws=synthesis.num_ws, num_layers=2,
        embed_features=0, layer_features=64,
    )  # fmt: skip
    G = Generator(NetworkSpec(architecture="stylegan3-t", mapping=mapping, synthesis=synthesis))
    return initialize_random(G, seed=seed).eval()


def tiny_show_tree(root: Path, show_text: str, show_name: str = "show.yaml") -> Path:
    """root/shows/<show_name> holding show_text, beside a tiny SG3 at root/assets/demo (the demo's
    place, so a show's `path: ../assets/demo/demo-sg3.safetensors` finds it); the show's path."""
    save_generator(tiny_sg3(), root / "assets" / "demo" / "demo-sg3.safetensors")
    show = root / "shows" / show_name
    show.parent.mkdir(parents=True, exist_ok=True)
    show.write_text(show_text, encoding="utf-8")
    return show
