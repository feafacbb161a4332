"""A digest of the live path: the render loop and the Player over a show, with a fake clock and a
fixed script of commands (live psi, a glide, mixing, noise mode, a fade, jumps, speed, pause).

    XDG_CACHE_HOME=$(mktemp -d) python scripts/live_digest.py [shows/demo.yaml]

prints the frame count and one sha256 over every frame's pixels, index, show time and epoch. Run
it before and after a change that should not change behaviour (a refactor): the digests must be
equal. A fresh cache directory keeps perceptual re-timing tables of an older run out of it.
"""

import hashlib
import queue
import sys
import threading
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from installation.render.loop import LoopSettings, RenderLoop  # noqa: E402
from installation.run.startup import build_renderer, load_startup  # noqa: E402
from installation.settings import settings_from_argv  # noqa: E402
from installation.walk import commands as C  # noqa: E402

settings = settings_from_argv(
    [sys.argv[1] if len(sys.argv) > 1 else "shows/demo.yaml", "--headless"]
)
show = load_startup(settings)
renderer, reloader, info = build_renderer(settings, show)


class Clock:
    """Wall time that moves only when the script moves it."""

    now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


clock = Clock()
frames: queue.Queue = queue.Queue(maxsize=100000)
commands: queue.SimpleQueue = queue.SimpleQueue()
loop = RenderLoop(renderer, frames, commands, LoopSettings(fps=30.0, max_batch=4), clock, reloader)
loop._start(threading.Event())
script = {  # loop step -> commands sent before it
    10: [C.SetLive("psi", 0.4)],
    40: [C.GlideTo(seed=7, glide_s=1.0)],
    80: [C.SetMixing(seed=3, first=4)],
    110: [C.SetNoiseMode("random")],
    130: [C.Blackout(0.5, 0.5)],
    150: [C.JumpSection(1)],
    170: [C.SetSpeed(2.0)],
    200: [C.SetMixing(seed=None), C.SetNoiseMode(None)],
    220: [C.TogglePause()],
    230: [C.SetLive("rotate_deg", 30.0)],
    240: [C.TogglePause()],
    260: [C.GoToSection(0)],
    280: [C.SetLive("direction/0", 2.0)],
}
digest = hashlib.sha256()
count = 0
for step in range(320):
    for command in script.get(step, []):
        commands.put(command)
    wait_s = loop.step()
    clock.now_s += max(wait_s, 0.0) + 0.01
    while not frames.empty():
        frame = frames.get_nowait()
        digest.update(np.ascontiguousarray(frame.pixels).tobytes())
        digest.update(f"{frame.index}:{frame.show_time_s:.9f}:{frame.epoch}".encode())
        count += 1
print(count, "frames", digest.hexdigest(), "fade", loop.fade.level_at(clock.now_s))
