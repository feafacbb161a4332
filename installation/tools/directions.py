"""`latent-walk directions`: principal directions of w (GANSpace-style PCA) into a .npz.

Sample z ~ N(0, I), map to w = mapping(z) (no truncation), accumulate the mean and covariance
of w in float64, and take the top eigenvectors of the covariance (torch.linalg.eigh). Each
direction is a unit vector; its sign is fixed so that its largest-magnitude component is
positive, so runs with the same seed and sample count give the same file.

The .npz (N directions; N = K = --count, or K per --layers range):
    directions      [K, w_dim] float32 unit vectors when every direction spans all ws rows;
                    [N, num_ws, w_dim] with --layers ranges: entry r*K + k is direction k on the
                    rows of range r and zero on the other rows (GANSpace's per-layer edits).
    names           [N] str: pc0, pc1, … or pc3_0-3 (direction 3 on rows 0-3).
    layers          [N, 2] int: first and last ws row (inclusive) of each direction.
    variance_share  [N] float32: eigenvalue / total variance of w, sorted descending, sum <= 1.
    std             [N] float32: sqrt(eigenvalue), the standard deviation of w along the
                    direction. A show direction with `scale: sigma` (the default for these
                    files) multiplies by it, so `intensity: 2` moves w by 2 standard deviations.
    mean_w          [w_dim] float32: the sample mean of w.
    samples, seed   int: how many w were sampled, and the seed of the z generator.
`--preview` renders a sheet: one row per direction, columns from -k to +k standard deviations
around w_avg (or around `--preview-seed`'s w).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from installation.errors import InstallationError
from installation.progress import Progress
from installation.tools import common

# w sampled per mapping call: the mapping output [B, num_ws, w_dim] float32 stays ~150 MB for
# an 18 x 512 StyleGAN2, and the [B, w_dim] float64 outer product per batch is cheap.
DEFAULT_BATCH = 4096


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `directions` subcommand's arguments."""
    p = sub.add_parser("directions", help="principal directions of w (PCA) into a .npz")
    p.add_argument("model", help=".pkl (NVIDIA torch or TF) or our .safetensors")
    p.add_argument("--method", choices=["pca"], default="pca", help="only pca for now")
    p.add_argument("--count", type=common.positive_int, default=20, help="directions (20)")
    p.add_argument(
        "--samples", type=common.positive_int, default=100_000, help="w sampled (100000)"
    )
    p.add_argument(
        "--seed", type=common.non_negative_int, default=0, help="seed of the z draws (0)"
    )
    p.add_argument(
        "--layers", action="append", default=None, metavar="RANGE",
        help="ws rows a direction acts on (0-3, 8-, coarse …); repeat for per-range variants",
    )  # fmt: skip
    p.add_argument("--out", default="dirs.npz", help="the .npz (default dirs.npz)")
    p.add_argument("--preview", default=None, metavar="PNG", help="also write a preview sheet")
    p.add_argument(
        "--preview-range",
        type=common.positive_float,
        default=3.0,
        metavar="K",
        help="the preview spans -K … +K standard deviations (3)",
    )
    p.add_argument(
        "--preview-steps",
        type=common.positive_int,
        default=7,
        metavar="N",
        help="preview columns (7)",
    )
    p.add_argument(
        "--preview-seed",
        type=int,
        default=None,
        metavar="SEED",
        help="preview around this seed's w (default: around w_avg)",
    )
    p.add_argument(
        "--psi", type=float, default=common.DEFAULT_PSI,
        help="truncation of --preview-seed (default 1 = none, as in shows and the other tools)",
    )  # fmt: skip
    p.add_argument("--class", dest="class_idx", type=int, default=None, help="of --preview-seed")
    p.add_argument(
        "--tile-px", type=common.positive_int, default=128, help="preview tile size (128)"
    )
    p.add_argument(
        "--batch", type=common.positive_int, default=DEFAULT_BATCH, help="w per mapping call"
    )
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=run)


@dataclass(frozen=True)
class Pca:
    """Principal axes of w: unit `vectors` [K, w_dim] and `variances` [K], descending."""

    vectors: np.ndarray  # [K, w_dim] float64, orthonormal
    variances: np.ndarray  # [K] float64, eigenvalues >= 0
    total_variance: float  # trace of the covariance
    mean_w: np.ndarray  # [w_dim] float64


def sample_moments(
    G: Any, samples: int, seed: int, batch: int, progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean [w_dim] and covariance [w_dim, w_dim] (float64) of w = mapping(z), z ~ N(0, I).

    Conditional models draw their class uniformly. Sums are taken around the first batch's mean
    (a shift that keeps the float64 second moments from cancelling).
    """
    import torch

    from installation.models.latents import class_vector

    if samples < 2:
        raise InstallationError(f"--samples {samples}: need at least 2 for a covariance")
    generator = torch.Generator().manual_seed(seed)
    device = G.mapping.fc0.weight.device
    shift = None
    total = torch.zeros(G.w_dim, dtype=torch.float64)  # [w_dim] sum of (w - shift)
    outer = torch.zeros(G.w_dim, G.w_dim, dtype=torch.float64)  # sum of (w - shift)^T (w - shift)
    done = 0
    with torch.inference_mode():
        while done < samples:
            n = min(batch, samples - done)
            z = torch.randn(n, G.z_dim, generator=generator)  # [n, z_dim]
            c = None
            if G.c_dim:
                labels = torch.randint(G.c_dim, (n,), generator=generator)
                c = class_vector(G.c_dim, labels, device=device)  # [n, c_dim]
            w = G.mapping(z.to(device), c)[:, 0].to("cpu", torch.float64)  # [n, w_dim]
            if shift is None:
                shift = w.mean(dim=0)
            d = w - shift
            total += d.sum(dim=0)
            outer += d.T @ d
            done += n
            if progress is not None:
                progress.update(n)
    mean_d = total / samples
    cov = (outer - samples * torch.outer(mean_d, mean_d)) / (samples - 1)
    assert shift is not None
    return (shift + mean_d).numpy(), cov.numpy()


def principal_axes(mean_w: np.ndarray, cov: np.ndarray, count: int) -> Pca:
    """Top `count` eigenvectors of cov, descending, each with its largest component positive."""
    import torch

    w_dim = cov.shape[0]
    if count > w_dim:
        raise InstallationError(f"--count {count}: w has only {w_dim} dimensions")
    sym = torch.from_numpy((cov + cov.T) / 2)
    eigenvalues, eigenvectors = torch.linalg.eigh(sym)  # ascending; columns are vectors
    order = torch.argsort(eigenvalues, descending=True)[:count]
    vectors = eigenvectors[:, order].T.numpy().copy()  # [K, w_dim]
    biggest = np.abs(vectors).argmax(axis=1)
    signs = np.sign(vectors[np.arange(count), biggest])
    vectors *= np.where(signs == 0, 1.0, signs)[:, None]
    variances = eigenvalues[order].clamp(min=0).numpy()
    return Pca(vectors, variances, float(np.trace(cov)), mean_w)


def direction_arrays(
    pca: Pca, num_ws: int, ranges: list[tuple[int, int]] | None, samples: int, seed: int
) -> dict[str, np.ndarray]:
    """The arrays of the .npz (see the module docstring for what each one is)."""
    count = len(pca.variances)
    share = pca.variances / pca.total_variance if pca.total_variance > 0 else pca.variances * 0
    std = np.sqrt(pca.variances)
    full = [(0, num_ws - 1)]
    if not ranges or ranges == full:
        directions: np.ndarray = pca.vectors
        names = [f"pc{k}" for k in range(count)]
        layers = full * count
    else:
        directions = np.zeros((len(ranges) * count, num_ws, pca.vectors.shape[1]))
        names, layers = [], []
        for r, (first, last) in enumerate(ranges):
            directions[r * count : (r + 1) * count, first : last + 1] = pca.vectors[:, None]
            names += [f"pc{k}_{first}-{last}" for k in range(count)]
            layers += [(first, last)] * count
    repeat = len(names) // count
    return {
        "directions": directions.astype(np.float32),
        "names": np.array(names),
        "layers": np.array(layers, dtype=np.int64).reshape(-1, 2),
        "variance_share": np.tile(share, repeat).astype(np.float32),
        "std": np.tile(std, repeat).astype(np.float32),
        "mean_w": pca.mean_w.astype(np.float32),
        "samples": np.array(samples),
        "seed": np.array(seed),
    }


def layer_ranges(texts: list[str] | None, num_ws: int) -> list[tuple[int, int]] | None:
    """--layers values as (first, last) inclusive; each must be one contiguous range."""
    if not texts:
        return None
    ranges = []
    for text in texts:
        rows = common.parse_layer_range(text, num_ws, "--layers")
        if rows != list(range(rows[0], rows[0] + len(rows))):
            raise InstallationError(f"--layers {text!r}: give one contiguous range like 0-3")
        ranges.append((rows[0], rows[-1]))
    return ranges


def run(args: argparse.Namespace) -> int:
    """Sample w, run PCA, write the .npz (and the preview); print a summary."""
    if args.samples < 2:
        raise InstallationError(f"--samples {args.samples}: need at least 2 for a covariance")
    G = common.load_model(args.model, device=args.device)
    ranges = layer_ranges(args.layers, G.num_ws)
    if args.count > G.w_dim:
        raise InstallationError(f"--count {args.count}: w has only {G.w_dim} dimensions")
    started = time.perf_counter()
    with Progress(args.samples, "sample w") as progress:
        mean_w, cov = sample_moments(G, args.samples, args.seed, args.batch, progress)
    pca = principal_axes(mean_w, cov, args.count)
    arrays = direction_arrays(pca, G.num_ws, ranges, args.samples, args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **arrays)
    elapsed_s = time.perf_counter() - started
    shares = arrays["variance_share"][: args.count]
    top = ", ".join(f"{s:.1%}" for s in shares[:5])
    print(
        f"wrote {len(arrays['names'])} directions to {out} in {elapsed_s:.1f} s "
        f"({args.samples} samples); variance share of pc0..: {top}; "
        f"top {args.count} explain {shares.sum():.1%}"
    )
    if args.preview:
        write_preview(G, arrays, args)
        print(f"wrote preview {args.preview}")
    return 0


def preview_centre(G: Any, arrays: dict[str, np.ndarray], args: argparse.Namespace) -> np.ndarray:
    """ws [num_ws, w_dim] the preview moves around: --preview-seed's w, else w_avg (mean_w)."""
    if args.preview_seed is not None:
        ws = common.seeds_ws(
            G, [args.preview_seed], args.psi, class_index=common.checked_class(G, args.class_idx)
        )
        return ws[0].cpu().numpy().astype(np.float64)
    w_avg = getattr(G.mapping, "w_avg", None)
    centre = arrays["mean_w"] if w_avg is None else w_avg.cpu().numpy()
    return np.broadcast_to(centre.astype(np.float64), (G.num_ws, G.w_dim))


def preview_steps(k: float, steps: int) -> np.ndarray:
    """Offsets in standard deviations, -k … +k (one step: 0)."""
    return np.linspace(-k, k, steps) if steps > 1 else np.zeros(1)


def write_preview(G: Any, arrays: dict[str, np.ndarray], args: argparse.Namespace) -> None:
    """A sheet: a row per direction, columns -k … +k standard deviations, each tile labelled."""
    import torch

    centre = preview_centre(G, arrays, args)  # [num_ws, w_dim]
    offsets = preview_steps(args.preview_range, args.preview_steps)
    ws, labels = [], []
    for name, vector, std in zip(arrays["names"], arrays["directions"], arrays["std"], strict=True):
        vector = np.broadcast_to(vector, (G.num_ws, G.w_dim))  # [num_ws, w_dim]
        for offset in offsets:
            ws.append(centre + offset * float(std) * vector)
            labels.append(f"{name} {offset:+.3g}sd")
    ws_t = torch.from_numpy(np.stack(ws).astype(np.float32))  # [N * steps, num_ws, w_dim]
    with Progress(len(ws), "preview") as progress:
        images = common.render_ws(G, ws_t, batch=8, on_batch=progress.update)
    sheet, _ = common.labelled_sheet(images, labels, args.tile_px, columns=len(offsets))
    common.write_png(args.preview, sheet)
