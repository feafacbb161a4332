"""A render to music: the song's sensor readings steer the show frame by frame, as live sound would.

`render SHOW --audio song.wav` analyses the song (audio/track.py), then for every frame hands the
readings heard by that frame's time to a Player as `SensorInput("audio.<name>", value)` commands,
with the frame's show time as the wall clock: the show's `sensors:` block maps them (ranges,
curves, smoothing, timeouts) exactly as it maps the live input's. The song's time 0 is the first
frame (--start moves the show, not the song).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from installation.audio.sensors import PREFIX, SENSOR_NAMES
from installation.audio.track import AudioTrack
from installation.walk.commands import SensorInput
from installation.walk.player import Player
from installation.walk.timeline import FrameParams


class SoundDriver:
    """Frame parameters of an offline render with the song's readings applied."""

    def __init__(self, track: AudioTrack, timeline: Any, places: Any, start_s: float) -> None:
        """`timeline`, `places`: the renderer's; `start_s`: the show time of the first frame."""
        self.track = track
        self.start_s = float(start_s)
        self.player = Player(timeline, places)
        self.player.start_clock(self.start_s, self.start_s, None)  # wall clock = show time
        sensors = getattr(timeline.show, "sensors", ())
        mapped = {s.name.removeprefix(PREFIX) for s in sensors if s.name.startswith(PREFIX)}
        self.names = [name for name in SENSOR_NAMES if name in mapped]  # the readings it maps

    def params(self, slots: Sequence[tuple[int, float]]) -> list[FrameParams]:
        """Each slot's (index, show time) parameters, the readings up to it applied in order."""
        found = []
        for _, show_s in slots:
            readings = self.track.at(show_s - self.start_s)
            for name in self.names:
                self.player.apply(SensorInput(PREFIX + name, (readings[name],)), show_s)
            found.append(self.player.params_at(show_s, show_s))
        return found
