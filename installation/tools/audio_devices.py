"""`latent-walk audio-devices`: the sound inputs PortAudio sees, for `run_show.py --audio-in`.

    latent-walk audio-devices
      0  JACK Audio Connection Kit  system  (2 channels, 48000 Hz)

`--audio-in` takes the index, a part of the name, or `default`. A JACK or PulseAudio server must
be running before the list (and the show) can see its ports.
"""

from __future__ import annotations

import argparse
import sys

from installation.errors import ControlError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `audio-devices` subcommand."""
    p = sub.add_parser("audio-devices", help="list sound inputs (for run_show.py --audio-in)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from installation.control.audio_in import input_devices

    try:
        devices = input_devices()
    except ControlError as err:
        print(f"audio-devices: {err}", file=sys.stderr)
        return 1
    if not devices:
        print("no sound inputs (no sound card; start a JACK or PulseAudio server for virtual "
              "ones)")  # fmt: skip
        return 1
    for device in devices:
        print(f"{device['index']:3d}  {device['hostapi']}  {device['name']}  "
              f"({device['channels']} channels, {device['rate']:g} Hz)")  # fmt: skip
    return 0
