"""`latent-walk midi-ports`: the MIDI inputs there are now, for `run_show.py --midi-in`.

    latent-walk midi-ports
    nanoKONTROL2:nanoKONTROL2 _ CTRL 20:0
    Midi Through:Midi Through Port-0 14:0   (a Through port: --midi-in auto skips it)

`--midi-in` takes a name, a part of one, or `auto`. ALSA's ports are listed when the ALSA
sequencer answers, else JACK's (`--api` picks one); a JACK server must run before its ports show.
"""

from __future__ import annotations

import argparse
import sys

from installation.errors import ControlError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `midi-ports` subcommand."""
    p = sub.add_parser("midi-ports", help="list MIDI inputs (for run_show.py --midi-in)")
    p.add_argument("--api", choices=("auto", "alsa", "jack"), default="auto",
                   help="the MIDI system: auto (ALSA, else JACK), alsa or jack")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from installation.control.midi import choose_port, input_names

    try:
        names = input_names(args.api)
    except ControlError as err:
        print(f"midi-ports: {err}", file=sys.stderr)
        return 1
    if not names:
        print("no MIDI inputs (plug a controller in, or start its software)")
        return 1
    auto = choose_port(names, "auto")
    for name in names:
        mark = "   (--midi-in auto picks this one)" if name == auto else ""
        if auto != name and "through" in name.lower():
            mark = "   (a Through port: --midi-in auto skips it)"
        print(f"{name}{mark}")
    return 0
