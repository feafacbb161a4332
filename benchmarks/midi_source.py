"""A MIDI input steering psi from a virtual port of this process (benchmarks/control_latency.py).

The benchmark measures command -> first displayed frame for OSC, the WebSocket and MIDI side by
side; this gives it the MIDI path as a show has it: a real port of the MIDI system (JACK or ALSA)
carries a CC into a real MidiControl, whose commands go on the show's queue. Nothing else uses it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from installation.control.midi import MidiControl, answering, import_mido
from installation.control.router import CommandSink
from installation.errors import ControlError
from installation.walk.midi_map import MidiBinding, MidiMap

PORT_NAME = "latent-walk-bench"
PSI_CC = 1
PSI_RANGE = (0.0, 2.0)  # CC 0..127 -> psi 0..2
OPEN_TIMEOUT_S = 10.0


class _Board:
    """What open_psi_port reads of the status board."""

    def parameters(self) -> Mapping[str, Mapping[str, float]]: ...


def open_psi_port(
    board: _Board, commands: CommandSink, api: str = "auto"
) -> tuple[Callable[[float], None], Callable[[], None]]:
    """A virtual output port and a MidiControl reading it (CC 1 -> psi 0..2, no pick-up).

    Returns:
        (send(psi), close()): send puts one CC on the port; close stops both.

    Raises:
        ControlError: no mido/python-rtmidi, no MIDI system, or the input did not open the port.
    """
    mido = import_mido()
    backend, _ = answering(api)  # type: ignore[arg-type]
    found = "jack" if "JACK" in str(getattr(backend, "api", "")) else "alsa"
    out = backend.open_output(PORT_NAME, virtual=True)
    binding = MidiBinding("cc", PSI_CC, target="psi", output=PSI_RANGE, pickup=False)
    control = MidiControl(PORT_NAME, MidiMap([binding]), commands, board.parameters, api=found)
    control.start()
    deadline = time.monotonic() + OPEN_TIMEOUT_S
    while control.port_name is None:
        if time.monotonic() > deadline:
            control.stop()
            out.close()
            raise ControlError(f"the MIDI input did not open {PORT_NAME} ({found})")
        time.sleep(0.02)

    def send(psi: float) -> None:
        u = (psi - PSI_RANGE[0]) / (PSI_RANGE[1] - PSI_RANGE[0])
        out.send(mido.Message("control_change", control=PSI_CC, value=round(127 * u)))

    def close() -> None:
        control.stop()
        out.close()

    return send, close
