"""A render to music: the song steers the show frame by frame, as live sound would.

`render SHOW --audio song.wav` analyses the song (audio/track.py), then for every frame:
- the song's onsets and beats up to the frame fire the show's `audio.on_onset`/`on_beat` rules
  (control/audio_events.py), whose commands go to a Player, as the live input's would;
- the song's tempo as heard by then goes to it as `SetTempo` (sections that count in beats
  follow it), and the readings heard by the frame's time as `SensorInput("audio.<name>", ...)`,
  which the show's `sensors:` block maps (ranges, curves, smoothing, timeouts) as it maps the
  live input's.
The render's frame times are the Player's wall clock; show time is the Player's clock, so a
command that moves it (a section jump, a preset with time, a speed change) moves the frames
after it. The song's time 0 is the first frame (--start moves the show, not the song).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from installation.audio.sensors import PREFIX, SENSOR_NAMES
from installation.audio.track import AudioTrack
from installation.control.addresses import MessageError
from installation.control.audio_events import message_commands, triggers
from installation.walk.commands import Command, SensorInput, SetTempo
from installation.walk.player import Player
from installation.walk.timeline import FrameParams

log = logging.getLogger(__name__)


class SoundDriver:
    """Frame parameters of an offline render with the song's readings and events applied."""

    def __init__(self, track: AudioTrack, timeline: Any, places: Any, start_s: float) -> None:
        """`timeline`, `places`: the renderer's; `start_s`: the show time of the first frame."""
        self.track = track
        self.start_s = float(start_s)
        self.player = Player(timeline, places)
        self.player.start_clock(self.start_s, self.start_s, None)  # wall clock = render time
        show = timeline.show
        mapped = {s.name.removeprefix(PREFIX) for s in getattr(show, "sensors", ())
                  if s.name.startswith(PREFIX)}  # fmt: skip
        self.names = [name for name in SENSOR_NAMES if name in mapped]  # the readings it maps
        self.triggers = triggers(show)
        events = [(float(t), "onset") for t in track.onsets_s]
        events += [(float(t), "beat") for t in track.beats_s]
        self.events = sorted(e for e in events if e[1] in self.triggers)
        self.next_event = 0
        self.events_sent = 0
        self.tempo_bpm = 0.0  # the song's tempo as last handed to the Player

    def params(self, slots: Sequence[tuple[int, float]]) -> list[FrameParams]:
        """Each slot's (index, render time) parameters, the song up to it applied in order."""
        found = []
        for _, wall_s in slots:
            self._events_until(wall_s)
            readings = self.track.at(wall_s - self.start_s)
            if readings["tempo"] > 0 and readings["tempo"] != self.tempo_bpm:
                self.tempo_bpm = readings["tempo"]
                self.player.apply(SetTempo(self.tempo_bpm), wall_s)  # beat sections follow it
            for name in self.names:
                self.player.apply(SensorInput(PREFIX + name, (readings[name],)), wall_s)
            clock = self.player.clock
            assert clock is not None
            found.append(self.player.params_at(clock.show_time_s(wall_s), wall_s))
        return found

    def _events_until(self, wall_s: float) -> None:
        """Fire the rules of the events heard by wall_s (the song's time wall_s - start_s)."""
        song_s = wall_s - self.start_s
        while self.next_event < len(self.events) and self.events[self.next_event][0] <= song_s:
            time_s, kind = self.events[self.next_event]
            self.next_event += 1
            message = self.triggers[kind].fire(time_s)
            if message is None:
                continue
            try:
                commands = message_commands(message)
            except MessageError as err:
                log.warning("audio.on_%s message dropped: %s", kind, err)
                continue
            self.events_sent += 1
            for command in commands:
                self._apply(command, wall_s)

    def _apply(self, command: Command, wall_s: float) -> None:
        """One command to the Player, and what it asks of the clock (as the render loop does)."""
        reaction = self.player.apply(command, wall_s)
        if reaction.seek_s is not None:
            self.player.seek(wall_s, reaction.seek_s)
        if reaction.is_reload or reaction.load_show is not None:
            log.warning("a render to music does not reload or switch shows; %s ignored",
                        type(command).__name__)  # fmt: skip
