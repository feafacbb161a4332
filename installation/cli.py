"""The `latent-walk` command line: model, show and latent tools (`run_show.py` plays a show).

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

from installation.device import resolve_device
from installation.errors import InstallationError
from installation.logs import setup_logging
from installation.settings import ENV_KERNELS, OneLineParser
from installation.tools.common import (
    apply_option_rules,
    check_combinations,
    load_model,
    parse_int_ranges,
    parse_layer_range,
)

__all__ = ["build_parser", "main", "parse_int_ranges", "parse_layer_range"]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------


def cmd_inspect(args: argparse.Namespace) -> int:
    import kernels.backend

    G = load_model(args.model)
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


def cmd_convert(args: argparse.Namespace) -> int:
    import torch

    from installation.models import load_generator, save_generator
    from installation.models.latents import class_vector, seed_z

    started = time.perf_counter()
    G = load_model(args.model)
    read_s = time.perf_counter() - started
    out = save_generator(G, args.out)
    started = time.perf_counter()
    G2 = load_generator(out)
    reload_s = time.perf_counter() - started
    z = seed_z(0, G.z_dim)
    c = class_vector(G.c_dim, 0)  # class 0 of a conditional model
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
    from installation.control.audio_events import check_messages
    from installation.errors import ShowError
    from installation.show.load import load_show, show_summary

    try:
        show = load_show(args.show)
    except ShowError as exc:
        print(exc, file=sys.stderr)
        return 1
    problems = check_messages(show)  # the audio: block's messages against the OSC table
    if problems:
        print("\n".join(problems), file=sys.stderr)
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
    from installation.control.osc_client import send_message

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
    parser = OneLineParser(prog="latent-walk", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inspect", help="describe a generator file")
    p.add_argument("model", help=".pkl (NVIDIA torch or TF) or our .safetensors")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_inspect)

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

    from installation.tools import (
        audio_devices,
        audio_keys,
        directions,
        generate,
        midi_ports,
        project,
        render,
        seeds,
        storyboard,
    )

    # light imports: torch comes when a command runs
    generate.add_parser(sub)
    render.add_parser(sub)
    storyboard.add_parser(sub)
    seeds.add_parser(sub)
    directions.add_parser(sub)
    project.add_parser(sub)
    audio_keys.add_parser(sub)
    audio_devices.add_parser(sub)
    midi_ports.add_parser(sub)
    apply_option_rules(parser)  # one checked type per option name, in every subcommand
    return parser


def subcommand_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of subcommand `name` (its errors name it: `latent-walk generate: error: …`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            return action.choices[name]
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `latent-walk` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = check_combinations(args)
    if problem is not None:
        subcommand_parser(parser, args.command).error(problem)
    if not logging.getLogger().handlers:  # a host that set logging up already (tests) keeps it
        setup_logging(logging.DEBUG if args.verbose else logging.WARNING)
    logging.getLogger("installation.device").setLevel(logging.INFO)  # which device, and why
    try:
        if getattr(args, "device", None) is not None:  # every tool: auto -> cuda or cpu, once
            args.device = resolve_device(args.device)
        return args.func(args)
    except InstallationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
