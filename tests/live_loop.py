"""A live render loop over a one-section tiny show, driven by a fake clock (render-level tests)."""

from __future__ import annotations

import queue
import threading

from installation.render.frame import Frame
from installation.render.loop import LoopSettings, RenderLoop
from installation.run.presets_file import PresetsFile

SHOW_TEXT = """\
models:
  tiny: {path: tiny.safetensors, psi: 0.8}
sections:
  - name: walk
    model: tiny
    duration_s: 60
    walk: {space: z, path: slerp, closed: true, seconds_per_keyframe: 1,
           keyframes: [{seed: 1}, {seed: 2}, {seed: 3}]}
"""


class FakeClock:
    """Wall time that moves only when a test moves it."""

    def __init__(self, now_s: float = 50.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


def start_loop(
    renderer, clock: FakeClock, reloader=None
) -> tuple[RenderLoop, queue.Queue, queue.SimpleQueue]:
    """A RenderLoop at 10 fps, one frame a pass, past its first frame: (loop, frames, commands)."""
    frames: queue.Queue[Frame] = queue.Queue(maxsize=1000)
    commands: queue.SimpleQueue = queue.SimpleQueue()
    loop = RenderLoop(renderer, frames, commands, LoopSettings(fps=10.0, max_batch=1), clock,
                      reloader, presets=PresetsFile())  # fmt: skip
    loop._start(threading.Event())
    return loop, frames, commands


def step_frames(loop: RenderLoop, clock: FakeClock, frames: queue.Queue, count: int) -> list[Frame]:
    """Run the loop until `count` more frames came out (advancing the fake clock)."""
    out: list[Frame] = []
    while len(out) < count:
        clock.now_s += max(loop.step(), 0.0) + 0.001
        while not frames.empty():
            out.append(frames.get_nowait())
    return out
