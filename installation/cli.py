"""The `latent-walk` command line: inspect, generate and convert generator files.

`python -m installation …` runs the same CLI. Output goes to stdout; errors are one line on
stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from installation.errors import InstallationError
from installation.settings import ENV_KERNELS
from installation.tools.common import (
    class_vector,
    parse_int_ranges,
    parse_layer_range,
    write_png,
)

log = logging.getLogger(__name__)


def parse_pair(text: str) -> tuple[float, float]:
    """'0.3,-0.2' -> (0.3, -0.2)."""
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers 'x,y', got {text!r}") from None
    return x, y


def make_grid(images: np.ndarray, columns: int | None = None) -> np.ndarray:
    """[N, H, W, C] -> one [rows*H, cols*W, C] image; empty cells stay black."""
    n, h, w, c = images.shape
    cols = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.zeros((rows * h, cols * w, c), dtype=images.dtype)
    for i, img in enumerate(images):
        r, q = divmod(i, cols)
        grid[r * h : (r + 1) * h, q * w : (q + 1) * w] = img
    return grid


# ---------------------------------------------------------------------------------------------


def cmd_inspect(args: argparse.Namespace) -> int:
    import kernels.backend
    from installation.models import load_generator

    G = load_generator(args.model)
    info = describe(G, args.model)
    logging.getLogger("kernels").setLevel(logging.ERROR)  # the line below says it already
    try:
        backend = kernels.backend.select(os.environ.get(ENV_KERNELS, "auto"))  # type: ignore[arg-type]
        info["kernels"] = f"{backend} ({kernels.backend.reason()})"
    except (RuntimeError, ValueError) as err:  # $LATENT_WALK_KERNELS=cuda where they can't load
        info["kernels"] = f"unavailable: {err}"
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        if key == "layers":
            continue
        print(f"{key:<{width}}  {value}")
    print("layers:")
    for row in info["layers"]:
        print("  " + row)
    return 0


def describe(G: Any, path: str) -> dict[str, Any]:
    """A summary of a loaded generator, for `inspect` and the logs."""
    spec = G.spec
    syn = spec.synthesis
    if G.is_stylegan3:
        layers = [
            f"{lay.name}: {lay.in_channels}->{lay.out_channels} ch, {lay.in_size[0]}->"
            f"{lay.out_size[0]} px, up {lay.up_factor} down {lay.down_factor}"
            + (" fp16" if lay.use_fp16 else "")
            for lay in syn.layers
        ]
    else:
        layers = [
            f"b{r}: {ch} ch" + (" fp16" if r in syn.fp16_resolutions else "")
            for r, ch in zip(syn.block_resolutions, syn.channels, strict=True)
        ]
    info: dict[str, Any] = {
        "file": str(path),
        "architecture": spec.architecture,
        "variant": syn.architecture if not G.is_stylegan3 else spec.architecture[-1].upper(),
        "resolution": G.img_resolution,
        "img_channels": G.img_channels,
        "z_dim": G.z_dim,
        "w_dim": G.w_dim,
        "c_dim": G.c_dim,
        "num_ws": G.num_ws,
        "mapping_layers": spec.mapping.num_layers,
        "parameters": G.num_parameters(),
        "fp16_layers": G.fp16_layers(),
        "conv_clamp": syn.layers[0].conv_clamp if G.is_stylegan3 else syn.conv_clamp,
        "source_format": spec.source_format,
        "code_generation": spec.code_generation,
        "where": spec.extra.get("where", ""),
        "layers": layers,
    }
    return info


def cmd_generate(args: argparse.Namespace) -> int:
    import torch  # here, not at the top: `osc-send` and `schema` start without torch

    from installation.models import load_generator
    from installation.models.latents import seed_z, to_uint8
    from installation.models.stylegan3 import camera_transform

    G = load_generator(args.model, device=args.device, precision=args.precision)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    c = class_vector(G, args.class_idx)
    synthesis_kwargs: dict[str, Any] = {"noise_mode": args.noise}
    if args.translate is not None or args.rotate is not None:
        if not G.is_stylegan3:
            raise InstallationError("--translate/--rotate need a StyleGAN3 model (it has a camera)")
        transform = camera_transform(args.translate or (0.0, 0.0), args.rotate or 0.0)
        synthesis_kwargs["transform"] = transform.to(args.device)
    mix_rows = parse_layer_range(args.mix_layers, G.num_ws) if args.mix_seed is not None else []
    images = []
    started = time.perf_counter()
    with torch.inference_mode():
        for seed in args.seeds:
            ws = G.mapping(seed_z(seed, G.z_dim).to(args.device), c, args.psi, args.cutoff)
            if mix_rows:
                ws_mix = G.mapping(
                    seed_z(args.mix_seed, G.z_dim).to(args.device), c, args.psi, args.cutoff
                )
                ws[:, mix_rows] = ws_mix[:, mix_rows]
            img = to_uint8(G.synthesis(ws, **synthesis_kwargs))[0]
            images.append(img)
            write_png(out_dir / f"seed{seed:04d}.png", img)
            if args.w_out:
                np.save(out_dir / f"seed{seed:04d}.npy", ws[0].cpu().numpy())
    if args.grid:
        write_png(out_dir / "grid.png", make_grid(np.stack(images), args.grid_columns))
    elapsed = time.perf_counter() - started
    print(f"wrote {len(images)} images to {out_dir} in {elapsed:.1f} s")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    import torch

    from installation.models import load_generator, save_generator
    from installation.models.latents import seed_z

    started = time.perf_counter()
    G = load_generator(args.model)
    read_s = time.perf_counter() - started
    out = save_generator(G, args.out)
    started = time.perf_counter()
    G2 = load_generator(out)
    reload_s = time.perf_counter() - started
    z = seed_z(0, G.z_dim)
    c = torch.eye(G.c_dim)[:1] if G.c_dim else None
    with torch.inference_mode():
        same = torch.equal(G(z, c), G2(z, c))
    if not same:
        raise InstallationError(f"{out}: the converted model renders differently; not trusted")
    size_mb = out.stat().st_size / 1e6
    print(
        f"wrote {out} ({size_mb:.1f} MB); read {read_s:.2f} s from the original, "
        f"{reload_s:.2f} s from the conversion; seed 0 renders identically"
    )
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from installation.errors import ShowError
    from installation.show.load import load_show, show_summary

    try:
        show = load_show(args.show)
    except ShowError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"OK: {show_summary(show)}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from installation.show.jsonschema import schema_text

    print(schema_text(), end="")
    return 0


def osc_value(text: str) -> int | float | bool | str:
    """An `osc-send` argument: int if it parses as one, else float, else true/false, else text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def cmd_osc_send(args: argparse.Namespace) -> int:
    from installation.control.osc import send_message

    values = [osc_value(text) for text in args.args]
    replies = send_message(args.host, args.port, args.address, values, args.wait_reply)
    for address, params in replies:
        print(
            " ".join([address, *(f"{v:.7g}" if isinstance(v, float) else str(v) for v in params)])
        )
    if args.wait_reply > 0 and not replies:
        raise InstallationError(
            f"no reply from {args.host}:{args.port} within {args.wait_reply:g} s "
            "(not running, another port, or over the show's reply budget: see its log)"
        )
    return 1 if any(address == "/status/refused" for address, _ in replies) else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from installation import doctor
    from installation.settings import DEFAULT_SHOW_PATH, AppSettings

    settings = AppSettings(
        show_path=Path(args.show) if args.show else DEFAULT_SHOW_PATH,
        osc_port=args.osc_port,
        osc_host=args.osc_host,
    )
    if args.json:  # progress on stderr, the report alone on stdout
        def progress(result: doctor.CheckResult) -> None:
            print(f"doctor: {result.status} {result.name}", file=sys.stderr, flush=True)
    else:  # each check's line as soon as it is done (some take seconds)
        def progress(result: doctor.CheckResult) -> None:
            print(doctor.format_result(result), flush=True)

    results = doctor.run_checks(settings, Path(args.log_dir), on_result=progress)
    if args.json:
        print(json.dumps(doctor.results_json(results), indent=2))
    else:
        print(doctor.format_summary(results))
    return doctor.exit_code(results)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="latent-walk", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inspect", help="describe a generator file")
    p.add_argument("model", help=".pkl (NVIDIA torch or TF) or our .safetensors")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("generate", help="render seeds to PNG")
    p.add_argument("model")
    p.add_argument("--seeds", type=parse_int_ranges, default=[0], help="e.g. 0,1,4-6")
    p.add_argument("--psi", type=float, default=1.0, help="truncation psi (1 = none)")
    p.add_argument("--cutoff", type=int, default=None, help="truncate only the first N ws rows")
    p.add_argument("--noise", choices=["const", "random", "none"], default="const")
    p.add_argument("--class", dest="class_idx", type=int, default=None, help="class (cond. models)")
    p.add_argument("--translate", type=parse_pair, default=None, help="SG3 camera 'x,y'")
    p.add_argument("--rotate", type=float, default=None, help="SG3 camera rotation, degrees")
    p.add_argument("--mix-seed", type=int, default=None, help="style-mixing source seed")
    p.add_argument("--mix-layers", default="8-", help="ws rows from --mix-seed: '8-', '0-3', fine")
    p.add_argument("--grid", action="store_true", help="also write grid.png")
    p.add_argument("--grid-columns", type=int, default=None)
    p.add_argument("--w-out", action="store_true", help="save ws [num_ws, w_dim] as seedNNNN.npy")
    p.add_argument("--out", default="out", help="output directory")
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", choices=["exact", "fast"], default="exact")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("convert", help="convert to our safe format (.safetensors)")
    p.add_argument("model")
    p.add_argument("out")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("validate", help="check a show file; print a summary or every error")
    p.add_argument("show", help="a show .yaml")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of show files")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("osc-send", help="send one OSC message to a running show (docs/osc.md)")
    p.add_argument("address", help="e.g. /show/speed")
    p.add_argument("args", nargs="*", help="values: int, float, true/false, else a string")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument(
        "--wait-reply", type=float, default=0.0, metavar="S",
        help="print the replies that arrive within S seconds (exit 2 if none, 1 if refused)",
    )  # fmt: skip
    p.set_defaults(func=cmd_osc_send)

    p = sub.add_parser("doctor", help="check this PC for a show: GPU, display, OSC, show, disk")
    p.add_argument("show", nargs="?", default=None, help="a show .yaml (default: shows/demo.yaml)")
    p.add_argument("--osc-port", type=int, default=None, help="check this port, not show.osc")
    p.add_argument("--osc-host", default=None, help="check binding this address")
    p.add_argument("--log-dir", default=".", help="where the logs go (free space is checked)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_doctor)

    from installation.tools import directions, project, seeds  # light: torch comes when run

    seeds.add_parser(sub)
    directions.add_parser(sub)
    project.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `latent-walk` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(threadName)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except InstallationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
