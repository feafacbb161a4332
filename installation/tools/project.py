"""Projection (`latent-walk project`): find the w, or per-layer W+, whose image matches a photo.

The method follows the StyleGAN2 paper's projector (Karras et al. 2020, section 5): start from
the average w, optimise it with Adam under a learning rate that ramps up over the first 5 % of
the steps and down (cosine) over the last 25 %, add Gaussian noise to w early on (scaled by the
spread of w and ramped down to zero by 75 % of the steps), and, for StyleGAN2, optimise the
per-layer noise inputs too, with a regulariser that keeps each noise map free of spatial
correlation at every scale of a pyramid and a renormalisation to zero mean and unit variance
after each step. StyleGAN3 has no noise inputs, so there only w is optimised.

Loss: with `--vgg16 PATH` (NVIDIA's published TorchScript VGG16 feature extractor, `vgg16.pt`)
the LPIPS-style distance between its features of the two images at 256 px, as the StyleGAN2
projector uses. Without it a loss that needs no download: pixel L1 + L2 + (1 - MS-SSIM).
Discriminator features are not used: our loader reads only the generator (`G_ema`) of a pickle
and there is no discriminator implementation to run a `D` with.

Images of any size and aspect are centre-cropped to a square and resized (Lanczos) to the
model's resolution; grey, palette and transparent images are converted to RGB (transparent
parts over black).

Outputs: `OUT.npz` with `w` [num_ws, w_dim] float32 (a show keyframe: `- projected: OUT.npz`),
for StyleGAN2 the optimised noise maps `noise_<layer>` [res, res], and metadata (model, image,
steps, loss, loss_kind, psnr_db, ...); `OUT_compare.png` (target | result); an optional video.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from installation.errors import InstallationError

if TYPE_CHECKING:  # torch is imported when the tool runs: the CLI starts without it
    import torch

# StyleGAN2 projector schedule (paper section 5 and its appendix)
INITIAL_LR = 0.1
LR_RAMPUP_FRACTION = 0.05  # linear ramp-up over the first 5 % of the steps
LR_RAMPDOWN_FRACTION = 0.25  # cosine ramp-down over the last 25 %
W_NOISE_FACTOR = 0.05  # noise added to w starts at 0.05 x the spread of w ...
W_NOISE_RAMP_FRACTION = 0.75  # ... and falls quadratically to 0 at 75 % of the steps
NOISE_REG_WEIGHT = 1e5  # weight of the noise-map autocorrelation penalty
NOISE_REG_MIN_PX = 8  # the penalty's pyramid stops at 8 x 8
W_STAT_SAMPLES = 10_000  # mapping samples for w_avg (when the file has none) and w_std
FEATURE_SIZE_PX = 256  # VGG16 features are computed on 256 px images
# MS-SSIM (Wang, Simoncelli & Bovik 2003): 11-tap Gaussian window, sigma 1.5, five scale weights
SSIM_WINDOW_PX = 11
SSIM_SIGMA_PX = 1.5
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
SSIM_C1 = 0.01**2  # stabilisers for a data range of 1
SSIM_C2 = 0.03**2
VIDEO_FPS = 30
VIDEO_MIN_HEIGHT_PX = 256  # progress frames of small models are enlarged (nearest) to this
VIDEO_FRAMES = 100  # about this many frames when --video-every is not given


# ---------------------------------------------------------------------------------------------
# Target image


def center_crop_resize(image: Any, size_px: int) -> Any:
    """Crop a PIL image to its centred square and resize it (Lanczos) to size_px x size_px."""
    from PIL import Image

    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = image.crop((left, top, left + side, top + side))
    if square.size == (size_px, size_px):
        return square
    return square.resize((size_px, size_px), Image.Resampling.LANCZOS)


def _as_rgb(image: Any) -> Any:
    """Any PIL mode -> RGB: transparent parts over black, 16/32-bit grey scaled to 8 bits."""
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        grey = np.asarray(image, dtype=np.float64)
        peak = grey.max() if grey.size and grey.max() > 255 else 255.0
        image = Image.fromarray(np.clip(grey / peak * 255.0, 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def load_target(path: str | Path, size_px: int) -> np.ndarray:
    """The image at `path` as [size_px, size_px, 3] uint8: RGB, centre-cropped, resized.

    Raises:
        InstallationError: the file is missing or not an image Pillow can read.
    """
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened)
            rgb = _as_rgb(image)
    except FileNotFoundError:
        raise InstallationError(f"{path}: no such image file") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InstallationError(f"{path}: cannot read the image ({exc})") from None
    return np.asarray(center_crop_resize(rgb, size_px), dtype=np.uint8).copy()


def image_tensor(rgb: np.ndarray, channels: int, device: torch.device | str) -> torch.Tensor:
    """[H, W, 3] uint8 -> [1, channels, H, W] float32 in [-1, 1] (grey models: the mean)."""
    import torch

    x = torch.from_numpy(rgb).to(device=device, dtype=torch.float32).permute(2, 0, 1)[None]
    if channels == 1:
        x = x.mean(dim=1, keepdim=True)
    return x / 127.5 - 1


def to_rgb8(img: torch.Tensor) -> np.ndarray:
    """[1, C, H, W] float ~[-1, 1] -> [H, W, 3] uint8 (NVIDIA's x * 127.5 + 128, clamped)."""
    from installation.models.latents import float_to_uint8

    x = float_to_uint8(img.detach()[0])  # [C, H, W]
    if x.shape[0] == 1:
        x = x.repeat(3, 1, 1)
    return x.permute(1, 2, 0).cpu().numpy()


def psnr_db(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images (peak 255); inf when they are equal."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


# ---------------------------------------------------------------------------------------------
# Losses


def gaussian_window(size_px: int, sigma_px: float) -> torch.Tensor:
    """Normalised 1D Gaussian [size_px]."""
    import torch

    x = torch.arange(size_px, dtype=torch.float32) - (size_px - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma_px**2))
    return g / g.sum()


def _blur(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' Gaussian filter of [N, C, H, W] with 1D g, per channel."""
    import torch.nn.functional as F

    c = x.shape[1]
    x = F.conv2d(x, g.reshape(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, g.reshape(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def ssim_terms(x: torch.Tensor, y: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Mean luminance and contrast-structure terms of SSIM for images in [0, 1], per image [N]."""
    mu_x, mu_y = _blur(x, g), _blur(y, g)
    var_x = _blur(x * x, g) - mu_x**2
    var_y = _blur(y * y, g) - mu_y**2
    cov = _blur(x * y, g) - mu_x * mu_y
    luminance = (2 * mu_x * mu_y + SSIM_C1) / (mu_x**2 + mu_y**2 + SSIM_C1)
    contrast_structure = (2 * cov + SSIM_C2) / (var_x + var_y + SSIM_C2)
    return luminance.flatten(1).mean(1), contrast_structure.flatten(1).mean(1)


def ms_ssim_scales(size_px: int, window_px: int = SSIM_WINDOW_PX) -> int:
    """How many MS-SSIM scales fit: the smallest scale keeps at least one window (1..5)."""
    fits = (
        int(math.floor(math.log2(max(size_px, 1) / window_px))) + 1 if size_px >= window_px else 1
    )
    return max(1, min(len(MS_SSIM_WEIGHTS), fits))


def ms_ssim(x: torch.Tensor, y: torch.Tensor, scales: int | None = None) -> torch.Tensor:
    """Multi-scale structural similarity of [N, C, H, W] images in [0, 1], per image [N].

    1 for identical images, lower the more they differ. Contrast-structure terms at the finer
    scales, both terms at the coarsest; scales are 2 x 2 averages, weights those of the paper
    renormalised when fewer than five scales fit (`ms_ssim_scales`). Images smaller than the
    11 px window use a window as large as the image.
    """
    import torch
    import torch.nn.functional as F

    side = min(x.shape[-2:])
    scales = scales or ms_ssim_scales(side)
    window_px = min(SSIM_WINDOW_PX, side if side % 2 else side - 1)
    g = gaussian_window(max(window_px, 1), SSIM_SIGMA_PX).to(x.device, x.dtype)
    weights = torch.tensor(MS_SSIM_WEIGHTS[:scales], device=x.device, dtype=x.dtype)
    weights = weights / weights.sum()
    result = torch.ones(x.shape[0], device=x.device, dtype=x.dtype)
    for scale in range(scales):
        luminance, contrast_structure = ssim_terms(x, y, g)
        # a negative cs (anti-correlated patches) has no real fractional power: floor it
        term = contrast_structure if scale < scales - 1 else luminance * contrast_structure
        result = result * term.clamp(min=1e-6) ** weights[scale]
        if scale < scales - 1:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    return result


class PixelLoss:
    """Fallback distance needing no download: L1 + L2 + (1 - MS-SSIM) on images in [0, 1]."""

    def __init__(self, target: torch.Tensor) -> None:
        self.target = (target + 1) / 2  # [1, C, H, W] in [0, 1]
        self.scales = ms_ssim_scales(min(target.shape[-2:]))
        self.kind = f"pixel L1 + L2 + MS-SSIM ({self.scales} scales)"

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        x = ((img + 1) / 2).clamp(0, 1)
        diff = x - self.target
        similarity = ms_ssim(x, self.target, self.scales)
        return diff.abs().mean() + diff.square().mean() + (1 - similarity).mean()


def _features_size(img: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] in [-1, 1] -> [N, 3, 256, 256] in [0, 255], as the VGG16 file expects."""
    import torch.nn.functional as F

    x = (img + 1) * 127.5
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    if x.shape[-1] > FEATURE_SIZE_PX:
        return F.interpolate(x, size=(FEATURE_SIZE_PX, FEATURE_SIZE_PX), mode="area")
    if x.shape[-1] < FEATURE_SIZE_PX:
        return F.interpolate(x, size=(FEATURE_SIZE_PX, FEATURE_SIZE_PX), mode="bilinear")
    return x


class VggLoss:
    """LPIPS-style distance: squared difference of the VGG16 file's normalised features.

    The file is NVIDIA's TorchScript `vgg16.pt`, called as `vgg16(x, resize_images=False,
    return_lpips=True)` on [0, 255] images at 256 px. Loading a TorchScript file runs the
    TorchScript program it contains (torch.jit.load, not a pickle of Python objects, but still
    the file's code): use only a file you trust; passing it is the user's explicit choice.
    """

    def __init__(self, target: torch.Tensor, path: str | Path) -> None:
        import torch

        try:
            self.vgg16 = torch.jit.load(str(path), map_location=target.device).eval()
        except (OSError, RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InstallationError(f"--vgg16 {path}: cannot load TorchScript: {first}") from None
        with torch.no_grad():
            self.target_features = self.features(target)
        self.kind = f"VGG16 LPIPS-style features ({Path(path).name})"

    def features(self, img: torch.Tensor) -> torch.Tensor:
        """The file's LPIPS features of [N, C, H, W] images in [-1, 1]."""
        return self.vgg16(_features_size(img), resize_images=False, return_lpips=True)

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        return (self.features(img) - self.target_features).square().sum()


def noise_regularization(noise_maps: list[torch.Tensor]) -> torch.Tensor:
    """Penalty on spatial correlation of noise maps, summed over a pyramid of each.

    For each map and each scale down to 8 x 8 (2 x 2 averages between scales), the squares of
    its mean product with itself shifted by one pixel along x and along y (wrapping around).
    Near zero for white noise; large for smooth noise that hides image content.
    """
    import torch
    import torch.nn.functional as F

    total = torch.zeros([])
    for noise in noise_maps:
        v = noise[None, None]  # [1, 1, H, W]
        total = total.to(v.device)
        while True:
            total = total + (v * torch.roll(v, shifts=1, dims=3)).mean().square()
            total = total + (v * torch.roll(v, shifts=1, dims=2)).mean().square()
            if v.shape[-1] <= NOISE_REG_MIN_PX:
                break
            v = F.avg_pool2d(v, kernel_size=2)
    return total


# ---------------------------------------------------------------------------------------------
# Schedules


def learning_rate(t: float, initial_lr: float = INITIAL_LR) -> float:
    """Learning rate at progress t in [0, 1]: linear ramp-up, cosine ramp-down at the end."""
    ramp = min(1.0, (1.0 - t) / LR_RAMPDOWN_FRACTION)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return initial_lr * ramp * min(1.0, t / LR_RAMPUP_FRACTION)


def w_noise_scale(t: float, w_std: float) -> float:
    """Standard deviation of the noise added to w at progress t in [0, 1]."""
    return w_std * W_NOISE_FACTOR * max(0.0, 1.0 - t / W_NOISE_RAMP_FRACTION) ** 2


def w_statistics(
    G: Any, samples: int = W_STAT_SAMPLES, seed: int = 0
) -> tuple[torch.Tensor, float]:
    """(w_avg [w_dim], w_std): the file's w_avg (else the sample mean) and the RMS distance of
    `samples` mapped random z from it (conditional models: classes drawn uniformly)."""
    import torch

    from installation.models.latents import class_vector

    gen = torch.Generator().manual_seed(seed)
    device = next(G.mapping.parameters()).device
    z = torch.randn(samples, G.z_dim, generator=gen).to(device)
    c = None
    if G.c_dim > 0:
        labels = torch.randint(G.c_dim, (samples,), generator=gen)
        c = class_vector(G.c_dim, labels, device=device)  # [samples, c_dim]
    with torch.no_grad():
        w = G.mapping(z, c)[:, 0]  # [samples, w_dim]
    w_avg = getattr(G.mapping, "w_avg", None)
    if w_avg is None:
        w_avg = w.mean(dim=0)
    w_std = float((w - w_avg).square().sum(dim=1).mean().sqrt())
    return w_avg.detach().clone(), w_std


# ---------------------------------------------------------------------------------------------
# The optimisation


@dataclass(frozen=True)
class ProjectionSettings:
    """How to project: steps, W or W+, learning rate, noise handling, seed, progress frames."""

    steps: int = 1000
    w_plus: bool = False
    initial_lr: float = INITIAL_LR
    noise_reg_weight: float = NOISE_REG_WEIGHT
    optimize_noise: bool = True  # StyleGAN2 only; False keeps the file's noise maps
    seed: int = 0
    w_stat_samples: int = W_STAT_SAMPLES


@dataclass
class ProjectionResult:
    """What `project` found: ws [num_ws, w_dim], noise maps, the image, the loss history."""

    ws: np.ndarray
    noise: dict[str, np.ndarray]
    image: np.ndarray  # [R, R, 3] uint8, rendered from ws with the optimised noise
    target: np.ndarray  # [R, R, 3] uint8
    losses: list[float]  # the distance (without the noise penalty) at each step
    final_loss: float
    loss_kind: str
    psnr_db: float
    psnr_file_noise_db: float | None  # SG2 with optimised noise: the image with the file's noise
    seconds_per_step: float
    extra: dict[str, Any] = field(default_factory=dict)


def noise_layers(G: Any) -> dict[str, torch.nn.Module]:
    """StyleGAN2 layers with a noise input, by path inside synthesis ('b8.conv0'); {} for SG3."""
    return {
        name: module
        for name, module in G.synthesis.named_modules()
        if getattr(module, "use_noise", False) and hasattr(module, "noise_const")
    }


@contextmanager
def trainable_noise(G: Any, is_enabled: bool, seed: int) -> Iterator[dict[str, torch.Tensor]]:
    """Swap each noise map of G for a trainable unit-Gaussian one; the file's come back after.

    Yields the trainable maps by layer path ({} when disabled or for StyleGAN3).
    """
    import torch

    layers = noise_layers(G) if is_enabled else {}
    saved = {name: layer.noise_const for name, layer in layers.items()}
    gen = torch.Generator().manual_seed(seed + 1)
    maps = {}
    for name, layer in layers.items():
        noise = torch.randn(layer.noise_const.shape, generator=gen)
        maps[name] = noise.to(layer.noise_const.device).requires_grad_(True)
        layer.noise_const = maps[name]  # a registered buffer: assignment replaces it
    try:
        yield maps
    finally:
        for name, layer in layers.items():
            layer.noise_const = saved[name]


def _normalize_(maps: dict[str, torch.Tensor]) -> None:
    """Renormalise each noise map to zero mean and unit variance, in place."""
    import torch

    with torch.no_grad():
        for noise in maps.values():
            noise.sub_(noise.mean()).div_(noise.square().mean().sub(noise.mean() ** 2).sqrt())


StepCallback = Callable[[int, float, "torch.Tensor"], None]


def project(
    G: Any,
    target_rgb: np.ndarray,
    settings: ProjectionSettings,
    vgg16_path: str | Path | None = None,
    on_step: StepCallback | None = None,
) -> ProjectionResult:
    """Find ws whose image matches target_rgb ([R, R, 3] uint8 at the model's resolution).

    Gradients flow through the reference kernels (the fast ones are inference-only); G is left
    as it was. `on_step(step, loss, img)` is called after each step with that step's image.
    """
    import torch

    import kernels

    if settings.steps < 1:
        raise InstallationError(f"--steps must be >= 1, got {settings.steps}")
    device = next(G.synthesis.parameters()).device
    target = image_tensor(target_rgb, G.img_channels, device)
    loss_fn = PixelLoss(target) if vgg16_path is None else VggLoss(target, vgg16_path)
    w_avg, w_std = w_statistics(G, settings.w_stat_samples, settings.seed)
    rows = G.num_ws if settings.w_plus else 1
    w_opt = w_avg.to(device)[None, None].repeat(1, rows, 1).requires_grad_(True)  # [1, rows, w_dim]
    precision = G.precision
    G.set_precision("exact")
    try:
        with kernels.use_backend("reference"), torch.enable_grad():
            with trainable_noise(G, settings.optimize_noise, settings.seed) as maps:
                started = time.perf_counter()
                losses = _optimize(G, w_opt, maps, loss_fn, w_std, settings, on_step)
                seconds_per_step = (time.perf_counter() - started) / settings.steps
                result = _finish(G, w_opt.detach(), maps, loss_fn, target_rgb)
            if maps:  # a show renders with the file's noise maps (back now): how close is that?
                with torch.no_grad():
                    ws = w_opt.detach().expand(1, G.num_ws, G.w_dim)
                    file_noise_rgb = to_rgb8(G.synthesis(ws, noise_mode="const"))
                result.psnr_file_noise_db = psnr_db(file_noise_rgb, target_rgb)
    finally:
        G.set_precision(precision)
    result.losses, result.seconds_per_step = losses, seconds_per_step
    return result


def _optimize(
    G: Any,
    w_opt: torch.Tensor,
    maps: dict[str, torch.Tensor],
    loss_fn: PixelLoss | VggLoss,
    w_std: float,
    settings: ProjectionSettings,
    on_step: StepCallback | None,
) -> list[float]:
    """The Adam loop over w_opt [1, rows, w_dim] and the noise maps; returns each step's loss."""
    import torch

    device = w_opt.device
    gen = torch.Generator().manual_seed(settings.seed)
    optimizer = torch.optim.Adam([w_opt, *maps.values()], betas=(0.9, 0.999))
    losses: list[float] = []
    for step in range(settings.steps):
        t = step / settings.steps
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(t, settings.initial_lr)
        w_noise = torch.randn(w_opt.shape, generator=gen).to(device) * w_noise_scale(t, w_std)
        img = G.synthesis((w_opt + w_noise).expand(1, G.num_ws, G.w_dim), noise_mode="const")
        distance = loss_fn(img)
        penalty = noise_regularization(list(maps.values()))
        optimizer.zero_grad(set_to_none=True)
        (distance + settings.noise_reg_weight * penalty).backward()
        optimizer.step()
        _normalize_(maps)
        losses.append(float(distance.detach()))
        if on_step is not None:
            on_step(step, losses[-1], img.detach())
    return losses


def _finish(
    G: Any,
    w_opt: torch.Tensor,
    maps: dict[str, torch.Tensor],
    loss_fn: PixelLoss | VggLoss,
    target_rgb: np.ndarray,
) -> ProjectionResult:
    """Render the result with the optimised noise maps (if any) and score it."""
    import torch

    ws = w_opt.expand(1, G.num_ws, G.w_dim)  # [1, num_ws, w_dim]
    with torch.no_grad():
        img = G.synthesis(ws, noise_mode="const")
        final_loss = float(loss_fn(img))
    image = to_rgb8(img)
    return ProjectionResult(
        ws=ws[0].cpu().numpy().astype(np.float32).copy(),
        noise={name: m.detach().cpu().numpy().astype(np.float32) for name, m in maps.items()},
        image=image,
        target=target_rgb,
        losses=[],
        final_loss=final_loss,
        loss_kind=loss_fn.kind,
        psnr_db=psnr_db(image, target_rgb),
        psnr_file_noise_db=None,
        seconds_per_step=0.0,
    )


# ---------------------------------------------------------------------------------------------
# Output files


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Two [H, W, 3] uint8 images next to each other: [H, 2W, 3]."""
    return np.concatenate([left, right], axis=1)


def enlarge(rgb: np.ndarray, min_height_px: int = VIDEO_MIN_HEIGHT_PX) -> np.ndarray:
    """Nearest-neighbour enlargement by the smallest integer factor reaching min_height_px."""
    factor = max(1, math.ceil(min_height_px / rgb.shape[0]))
    return rgb.repeat(factor, axis=0).repeat(factor, axis=1) if factor > 1 else rgb


def compare_path(out: Path) -> Path:
    """`target.npz` -> `target_compare.png` beside it."""
    return out.with_name(f"{out.stem}_compare.png")


def save_result(out: Path, result: ProjectionResult, metadata: dict[str, Any]) -> Path:
    """Write OUT.npz (w, noise_<layer>, metadata) and OUT_compare.png; returns the PNG path."""
    from installation.tools.common import write_png

    arrays: dict[str, Any] = {"w": result.ws}
    arrays.update({f"noise_{name}": noise for name, noise in result.noise.items()})
    meta = {
        "loss": result.final_loss,
        "first_loss": result.losses[0],
        "loss_kind": result.loss_kind,
        "psnr_db": result.psnr_db,
        "seconds_per_step": result.seconds_per_step,
        **metadata,
    }
    if result.psnr_file_noise_db is not None:
        meta["psnr_file_noise_db"] = result.psnr_file_noise_db
    arrays.update({key: np.asarray(value) for key, value in meta.items()})
    png = compare_path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as f:
            np.savez(f, **arrays)
        write_png(png, side_by_side(result.target, result.image))
    except OSError as exc:
        raise InstallationError(f"{out}: cannot write the result: {exc.strerror or exc}") from None
    return png


class ProgressVideo:
    """Every `every` steps, one frame target | current image into a VideoWriter (None: off)."""

    def __init__(self, path: str | None, target: np.ndarray, every: int) -> None:
        self.target, self.every, self.writer = target, max(1, every), None
        if path:
            from installation.display.video import VideoWriter

            self.writer = VideoWriter(path, VIDEO_FPS)

    def add(self, step: int, img: torch.Tensor) -> None:
        """Write a frame when `step` is one of every `every` (no-op without a path)."""
        if self.writer is None or step % self.every:
            return
        from installation.render.frame import Frame

        pixels = enlarge(side_by_side(self.target, to_rgb8(img)))
        self.writer.write(Frame(np.ascontiguousarray(pixels), step // self.every, 0.0, 0.0))

    def close(self) -> None:
        """Finish the video file."""
        if self.writer is not None:
            self.writer.close()


# ---------------------------------------------------------------------------------------------
# Command line


HELP = """\
Find the w (one w for all layers, or per-layer W+ with --w-plus) whose image matches IMAGE,
starting from the average w, as StyleGAN2's projector does. IMAGE may have any size and
aspect: it is centre-cropped to a square and resized (Lanczos) to the model's resolution; grey,
palette and transparent images are converted to RGB (transparency over black). Writes OUT (.npz
with w [num_ws, w_dim], a show keyframe: `- projected: OUT`) and OUT_compare.png (target |
result). Loss: --vgg16 vgg16.pt (NVIDIA's TorchScript VGG16; loading it runs its TorchScript
code, so use a file you trust) else pixel L1 + L2 + MS-SSIM, which needs no download."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `project` subcommand: its help text and arguments."""
    p = sub.add_parser(
        "project", help="find the w whose image matches a photo (a show keyframe)",
        description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `latent-walk project`."""
    p.add_argument("model", help=".pkl (NVIDIA torch or TF) or our .safetensors")
    p.add_argument("image", help="target image (PNG, JPEG, ...; any size, centre-cropped)")
    p.add_argument("--steps", type=int, default=1000, help="optimisation steps (default 1000)")
    p.add_argument("--out", default="projected.npz", help="result .npz (default projected.npz)")
    p.add_argument("--video", default=None, help="progress video, e.g. progress.mp4, or a DIR/")
    p.add_argument("--video-every", type=int, default=0, help="a frame every K steps (0: auto)")
    p.add_argument("--w-plus", action="store_true", help="optimise one w per layer (W+)")
    p.add_argument("--vgg16", default=None, help="TorchScript VGG16 feature file (vgg16.pt)")
    p.add_argument("--keep-noise", action="store_true",
                   help="StyleGAN2: keep the file's noise maps instead of optimising them "
                        "(the show then renders exactly the projected image)")  # fmt: skip
    p.add_argument("--noise-reg", type=float, default=NOISE_REG_WEIGHT, help="noise penalty")
    p.add_argument("--lr", type=float, default=INITIAL_LR, help="peak learning rate")
    p.add_argument("--seed", type=int, default=0, help="seed of the w noise and noise maps")
    p.add_argument("--device", default="cpu", help="cpu or cuda")


def run(args: argparse.Namespace) -> int:
    """`latent-walk project`: load, project with a progress line, write the outputs."""

    from installation.progress import Progress
    from installation.tools.common import load_model

    G = load_model(args.model, device=args.device)
    target = load_target(args.image, G.img_resolution)
    settings = ProjectionSettings(
        steps=args.steps, w_plus=args.w_plus, initial_lr=args.lr, noise_reg_weight=args.noise_reg,
        optimize_noise=not args.keep_noise, seed=args.seed,
    )  # fmt: skip
    loss_name = "VGG16 features (--vgg16)" if args.vgg16 else "pixel L1 + L2 + MS-SSIM"
    print(f"loss: {loss_name}; discriminator features: not available (only G is loaded)")
    every = args.video_every or max(1, args.steps // VIDEO_FRAMES)
    video = ProgressVideo(args.video, target, every)
    with Progress(args.steps, "project") as progress:

        def on_step(step: int, loss: float, img: torch.Tensor) -> None:
            progress.update(1, loss=loss)
            video.add(step, img)

        try:
            result = project(G, target, settings, args.vgg16, on_step)
        finally:
            video.close()
    out = Path(args.out)
    metadata = {
        "model": str(args.model), "image": str(args.image), "steps": args.steps,
        "w_plus": bool(args.w_plus), "seed": args.seed, "architecture": G.architecture,
    }  # fmt: skip
    png = save_result(out, result, metadata)
    extra = (
        f"; with the file's noise (as a show renders it) {result.psnr_file_noise_db:.1f} dB"
        if result.psnr_file_noise_db is not None else ""
    )  # fmt: skip
    print(
        f"wrote {out} and {png}: loss {result.losses[0]:.4g} -> {result.final_loss:.4g} "
        f"({result.loss_kind}), PSNR {result.psnr_db:.1f} dB{extra}, "
        f"{result.seconds_per_step:.3f} s/step"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run `project` on its own (python -m installation.tools.project MODEL IMAGE ...)."""
    from installation.device import resolve_device
    from installation.settings import OneLineParser
    from installation.tools.common import apply_option_rules

    parser = OneLineParser(
        prog="latent-walk project",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    apply_option_rules(parser)  # the same checked options as `latent-walk project`
    args = parser.parse_args(argv)
    try:
        args.device = resolve_device(args.device)
        return run(args)
    except InstallationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
