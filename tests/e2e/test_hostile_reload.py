"""A save never freezes the picture: hostile files saved over a playing headless show.

app.run plays a tiny StyleGAN3 show headless (real EGL presenter, render thread, file watching).
While it plays, a writer saves an alias bomb, deep nesting, a 2 MiB file, an alias loop, a
junk model file, a .npy that announces 4 TiB and a show whose latents fail, one after another,
over the show file, each once the last is rejected; then a render-thread fault forces a
recovery; then a good show. Frames keep
coming, each bad save is logged and rejected, the old show keeps playing, the recovery rebuilds
it without reading the rejected file, and the good save is taken.
"""

from __future__ import annotations

import json
import logging
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

from installation import app
from installation.display.offscreen import OffscreenPresenter
from installation.render import loop as loop_module
from installation.run import recovery, show_reload
from installation.settings import AppSettings
from tiny_models import tiny_show_tree

SHOW_TEXT = """\
models:
  tiny:
    path: ../assets/demo/demo-sg3.safetensors
sections:
  - name: loop
    model: tiny
    loops: 100
    walk:
      path: cubic
      closed: true
      seconds_per_keyframe: 1
      keyframes: [{seed: 1}, {seed: 2}, {seed: 3}]
"""
WATCH_S = 1.5  # longer than the reloader's watch interval
FAULT_AT_S = 20.0  # show time of the injected render-thread fault (after the hostile saves)
WAIT_S = 60.0  # longest wait for a log line (a busy machine)


def npy_header(shape: tuple[int, ...]) -> bytes:
    """A .npy v1.0 header announcing `shape` of float32 (no data follows)."""
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()


def hostile_saves(folder: Path) -> list[tuple[str, bytes]]:
    """(what the rejection says, file contents) for each hostile save."""
    (folder / "junk.safetensors").write_bytes(b"\xff" * 64)
    (folder / "huge.npy").write_bytes(npy_header((1 << 40,)))
    (folder / "tiny.npy").write_bytes(npy_header((3,)) + bytes(12))  # 3 values: wrong shape
    lol = ["l0: &l0 [a, a, a, a, a, a, a, a, a, a]"]
    lol += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    return [
        ("alias-expansion bomb", "\n".join(lol).encode()),
        ("nest", b"x: " + b"[" * 100_000),
        ("a show file is at most", b"# " + b"x" * (2 << 20)),
        ("(a loop)", b"models: &a {m: *a}\n"),
        ("junk.safetensors", SHOW_TEXT.replace("../assets/demo/demo-sg3", "junk").encode()),
        ("an array here is at most", SHOW_TEXT.replace("{seed: 1}", "{w: huge.npy}").encode()),
        ("tiny.npy", SHOW_TEXT.replace("{seed: 1}", "{w: tiny.npy}").encode()),
    ]


def wait_for(condition: Callable[[], bool]) -> None:
    """Poll `condition` until it holds (or WAIT_S passed: the test's asserts then say what)."""
    deadline_s = time.monotonic() + WAIT_S
    while not condition() and time.monotonic() < deadline_s:
        time.sleep(0.05)


def record_time(records: list[logging.LogRecord], text: str) -> float:
    """perf_counter-comparable time of the first log record containing `text`."""
    record = next(r for r in records if text in r.getMessage())
    return record.created - time.time() + time.perf_counter()


class TimedPresenter(OffscreenPresenter):
    """The real offscreen presenter, noting (wall time, show time) of each new frame."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shown: list[tuple[float, float]] = []

    def present(self, frame, blend_with=None, mix=0.0) -> None:
        super().present(frame, blend_with, mix)
        if not self.shown or self.shown[-1][1] != frame.show_time_s:
            self.shown.append((time.perf_counter(), frame.show_time_s))


def timed_presenters(monkeypatch) -> list[TimedPresenter]:
    """Make app.run open TimedPresenters; the list they are put in."""
    presenters: list[TimedPresenter] = []

    def open_presenter(settings: AppSettings) -> TimedPresenter:
        presenters.append(TimedPresenter((32, 32)))
        return presenters[-1]

    monkeypatch.setattr(app, "open_presenter", open_presenter)
    return presenters


def test_hostile_saves_over_a_playing_show_are_rejected_and_frames_keep_coming(
    monkeypatch, caplog, tmp_path
) -> None:
    monkeypatch.setattr(recovery, "BACKOFF_FIRST_S", 0.3)
    monkeypatch.setattr(recovery, "FAILED_PASSES_LIMIT", 2)
    monkeypatch.setattr(loop_module, "RETRY_DELAY_S", 0.05)
    show_path = tiny_show_tree(tmp_path / "tree", SHOW_TEXT)
    saves = hostile_saves(show_path.parent)
    status_path = tmp_path / "status.json"
    presenters = timed_presenters(monkeypatch)
    times: dict[str, float] = {}
    seen: dict[str, dict] = {}

    def write() -> None:  # once the show plays: the hostile saves, the fault, the good save
        while "show started" not in caplog.text:
            time.sleep(0.05)
        time.sleep(WATCH_S)  # the reloader has its first look at the file
        for index, (_, data) in enumerate(saves):
            show_path.write_bytes(data)
            times[f"save {index}"] = time.perf_counter()
            wait_for(lambda i=index: caplog.text.count("show reload failed") > i)  # none missed
            time.sleep(0.2)  # a new mtime for the next save
        times["hostile done"] = time.perf_counter()
        wait_for(lambda: "render thread 1 took over" in caplog.text)
        started = caplog.text.count("show reload started")
        time.sleep(2 * WATCH_S)  # the new render thread's reloader has looked at the file
        seen["reads after recovery"] = caplog.text.count("show reload started") - started
        seen["before good"] = json.loads(status_path.read_text())
        times["good"] = time.perf_counter()
        show_path.write_text(SHOW_TEXT.replace("name: loop", "name: after"), encoding="utf-8")

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    settings = AppSettings(show_path=show_path, is_headless=True, is_watching=True, fps=20.0,
                           max_duration_s=FAULT_AT_S + 8, status_file=status_path,
                           inject_faults=f"raise@{FAULT_AT_S}*3")  # fmt: skip
    with caplog.at_level(logging.INFO):
        assert app.run(settings) == 0
    writer.join(5.0)
    assert times["hostile done"] < record_time(caplog.records, "render thread 1 took over")
    records = [r.getMessage() for r in caplog.records]
    rejections = [m for m in records if m.startswith("show reload failed")]
    for expected, _ in saves:  # each bad save: logged and rejected, saying why
        assert any(expected in m for m in rejections), (expected, rejections)
    shown = presenters[0].shown
    for index in range(len(saves)):  # frames kept coming after every save
        after = times[f"save {index}"]
        assert any(wall_s > after for wall_s, _ in shown), index
    hostile = [t_s for wall_s, t_s in shown if times["save 0"] < wall_s < times["good"]]
    assert hostile == sorted(hostile)  # the old show played on: no jump back to its start
    assert seen["before good"]["section"] == "loop"  # still the old show after the recovery
    assert seen["reads after recovery"] == 0  # the recovery rebuilt the show without reading
    assert json.loads(status_path.read_text())["section"] == "after"


def test_a_reload_past_its_deadline_is_given_up_and_the_show_plays_on(
    monkeypatch, caplog, tmp_path
) -> None:
    """A build that never finishes (a stuck model load) is rejected at its deadline."""
    release = threading.Event()
    monkeypatch.setattr(show_reload, "BUILD_DEADLINE_S", 1.0)
    monkeypatch.setattr(show_reload, "load_generator", lambda *args, **kwargs: release.wait(60))
    show_path = tiny_show_tree(tmp_path / "tree", SHOW_TEXT)
    (show_path.parent / "other.safetensors").write_bytes(b"")
    presenters = timed_presenters(monkeypatch)
    status_path = tmp_path / "status.json"
    saved: list[float] = []

    def write() -> None:
        while "show started" not in caplog.text:
            time.sleep(0.05)
        time.sleep(WATCH_S)  # the reloader has its first look at the file
        show_path.write_text(SHOW_TEXT.replace("../assets/demo/demo-sg3", "other"))
        saved.append(time.perf_counter())

    threading.Thread(target=write, daemon=True).start()
    settings = AppSettings(show_path=show_path, is_headless=True, is_watching=True, fps=20.0,
                           max_duration_s=6.0, status_file=status_path)  # fmt: skip
    with caplog.at_level(logging.INFO):
        assert app.run(settings) == 0
    release.set()
    assert any("gave up after" in r.getMessage() and "while models" in r.getMessage()
               for r in caplog.records)  # fmt: skip
    assert any(wall_s > saved[0] + 1.0 for wall_s, _ in presenters[0].shown)
    assert json.loads(status_path.read_text())["section"] == "loop"
