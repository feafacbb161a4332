"""Progress: rate/ETA with a fake clock, TTY redraw throttling, plain-line cadence, total None."""

from __future__ import annotations

import io

import numpy as np
import pytest

from installation.progress import Progress, format_duration, format_rate, plural


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now_s += seconds


class TtyStringIO(io.StringIO):
    """A StringIO that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 200-column terminal, so TTY lines are not cut to the width of the one running pytest."""
    monkeypatch.setenv("COLUMNS", "200")


def plain_lines(stream: io.StringIO) -> list[str]:
    """The lines written to a non-TTY stream."""
    return stream.getvalue().splitlines()


def tty_redraws(stream: io.StringIO) -> list[str]:
    """Each redraw of a TTY line (the text between carriage returns), padding stripped."""
    return [part.rstrip() for part in stream.getvalue().split("\r") if part]


def test_format_duration_uses_hours_only_above_an_hour() -> None:
    assert format_duration(0) == "0:00"
    assert format_duration(47) == "0:47"
    assert format_duration(59.6) == "1:00"
    assert format_duration(3599) == "59:59"
    assert format_duration(3723) == "1:02:03"
    assert format_duration(-5) == "0:00"


def test_format_rate_switches_to_seconds_per_item_when_slow() -> None:
    assert format_rate(12.34) == "12.3 it/s"
    assert format_rate(0.25) == "4.0 s/it"
    assert format_rate(None) == "? it/s"


def test_eta_matches_a_steady_rate() -> None:
    clock = FakeClock()
    progress = Progress(1000, "render", stream=io.StringIO(), clock=clock)
    for _ in range(100):
        clock.advance(0.1)
        progress.update()
    assert progress.rate_per_s == pytest.approx(10.0)
    assert progress.eta_s() == pytest.approx(90.0)
    line = plain_lines(progress.stream)[-1]  # type: ignore[arg-type]
    assert "ETA 1:30" in line
    assert "elapsed 0:10" in line


def test_eta_settles_after_a_slow_first_item() -> None:
    clock = FakeClock()
    progress = Progress(10_000, "render", stream=io.StringIO(), clock=clock)
    clock.advance(30.0)  # e.g. the first frame compiles kernels
    progress.update()
    for _ in range(400):  # then 10 items per second for 40 s
        clock.advance(0.1)
        progress.update()
    assert progress.rate_per_s == pytest.approx(10.0, rel=0.01)


def test_plain_output_writes_every_ten_percent_and_at_the_end() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    with Progress(200, "render", stream=stream, clock=clock) as progress:
        for _ in range(200):
            clock.advance(0.01)
            progress.update()
    lines = plain_lines(stream)
    assert len(lines) == 10  # 10 %, 20 %, ..., 100 %; the end line is not repeated
    assert lines[0].startswith("render   10% 20/200")
    assert lines[-1].startswith("render  100% 200/200")
    assert "ETA" not in lines[-1]
    assert "\r" not in stream.getvalue()
    assert "|" not in stream.getvalue() and "#" not in stream.getvalue()


def test_plain_output_writes_after_thirty_seconds_without_a_step() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    progress = Progress(1000, "project", stream=stream, clock=clock)
    for _ in range(3):  # 3 items, 0.3 %: no 10 % step
        clock.advance(10.0)
        progress.update(loss=0.123456)
    lines = plain_lines(stream)
    assert len(lines) == 1  # at 30 s
    assert lines[0].startswith("project    0% 3/1000  10.0 s/it")
    assert lines[0].endswith("elapsed 0:30  loss=0.1235")


def test_plain_output_ends_with_a_final_line_when_stopped_early() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    with Progress(100, "render", stream=stream, clock=clock) as progress:
        for _ in range(15):
            clock.advance(1.0)
            progress.update()
    lines = plain_lines(stream)
    assert len(lines) == 2  # 10 % and the final line
    assert lines[-1].startswith("render   15% 15/100")
    assert "ETA" not in lines[-1]
    assert lines[-1].endswith("elapsed 0:15")


def test_tty_redraws_one_line_at_most_ten_times_per_second() -> None:
    clock = FakeClock()
    stream = TtyStringIO()
    progress = Progress(1000, "render", stream=stream, clock=clock)
    for _ in range(100):  # 100 updates in 1 s
        clock.advance(0.01)
        progress.update()
    redraws = tty_redraws(stream)
    assert 9 <= len(redraws) <= 10
    assert "\n" not in stream.getvalue()
    assert redraws[-1].startswith("render   10% |##------------------| 100/1000  100.0 it/s")
    assert "ETA 0:09" in redraws[-1]


def test_tty_close_draws_the_final_state_and_a_newline() -> None:
    clock = FakeClock()
    stream = TtyStringIO()
    with Progress(50, "render", stream=stream, clock=clock) as progress:
        for _ in range(50):
            clock.advance(0.5)
            progress.update()
    assert stream.getvalue().endswith("\n")
    assert stream.getvalue().count("\n") == 1
    final = tty_redraws(stream)[-1].rstrip("\n")
    assert final == "render  100% |####################| 50/50  2.0 it/s  elapsed 0:25"


def test_tty_blanks_the_rest_of_a_longer_previous_line() -> None:
    clock = FakeClock()
    stream = TtyStringIO()
    progress = Progress(None, "render", stream=stream, clock=clock)
    clock.advance(1.0)
    progress.update(note="a long note here")
    clock.advance(1.0)
    progress.update(note="x")
    parts = [part for part in stream.getvalue().split("\r") if part]
    assert len(parts[1]) == len(parts[0])


def test_total_none_shows_count_and_rate_only() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    with Progress(None, "seeds", stream=stream, clock=clock) as progress:
        for _ in range(40):
            clock.advance(1.0)
            progress.update(2)
    lines = plain_lines(stream)
    assert len(lines) == 2  # after 30 s, and the final line
    assert lines[0] == "seeds  60  2.0 it/s  elapsed 0:30"
    assert lines[-1] == "seeds  80  2.0 it/s  elapsed 0:40"
    assert "%" not in stream.getvalue() and "ETA" not in stream.getvalue()


def test_close_twice_writes_once_and_update_after_close_raises() -> None:
    clock = FakeClock()
    stream = TtyStringIO()
    progress = Progress(10, "render", stream=stream, clock=clock)
    progress.close()
    progress.close()
    assert stream.getvalue().count("\n") == 1
    with pytest.raises(RuntimeError, match="after close"):
        progress.update()


def test_tty_line_is_cut_to_the_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    clock = FakeClock()
    stream = TtyStringIO()
    with Progress(10, "render", stream=stream, clock=clock) as progress:
        clock.advance(1.0)
        progress.update(loss=0.5)
    assert all(len(redraw) <= 39 for redraw in tty_redraws(stream))


def noisy_render(progress: Progress, clock: FakeClock, seed: int) -> list[tuple[float, float]]:
    """Batches of 8 frames at 1 s/frame +-50 % each, after a 30 s first batch (compiling).

    Returns (seconds since the previous update, ETA after the update) per batch.
    """
    rng = np.random.default_rng(seed)
    clock.advance(30.0)
    progress.update(8)
    shown = []
    while progress.count < (progress.total or 0):
        step_s = 8 * rng.uniform(0.5, 1.5)
        clock.advance(step_s)
        progress.update(8)
        shown.append((step_s, progress.eta_s()))
    return shown


def eta_jumps(shown: list[tuple[float, float]]) -> list[float]:
    """Batches 10..88 of 100: how far each ETA lies from the previous one counted down."""
    return [
        abs(eta - (previous - step_s)) / previous
        for (_, previous), (step_s, eta) in zip(shown[9:88], shown[10:89], strict=True)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_eta_counts_down_steadily_through_noisy_batches(seed: int) -> None:
    clock = FakeClock()
    progress = Progress(800, "render", io.StringIO(), clock, unit="frame", warmup_items=8)
    shown = noisy_render(progress, clock, seed)
    jumps = eta_jumps(shown)
    assert float(np.median(jumps)) <= 0.03
    assert max(jumps) <= 0.2
    # and it is right: at half way about 400 s are left (the slow first batch is not counted)
    assert shown[49][1] == pytest.approx(400, rel=0.25)


def test_raw_eta_of_the_same_batches_jumps_more() -> None:
    """The smoothing matters: the unsmoothed estimate moves several times as much per batch."""
    clock = FakeClock()
    progress = Progress(800, "render", io.StringIO(), clock, unit="frame")
    rng = np.random.default_rng(1)
    raw = []
    for _ in range(100):
        step_s = 8 * rng.uniform(0.5, 1.5)
        clock.advance(step_s)
        progress.update(8)
        raw.append((step_s, progress.raw_eta_s(), progress.eta_s()))
    raw_jumps = eta_jumps([(step_s, eta) for step_s, eta, _ in raw])
    shown_jumps = eta_jumps([(step_s, eta) for step_s, _, eta in raw])
    assert np.median(raw_jumps) > 3 * np.median(shown_jumps)


def test_warmup_items_are_left_out_of_the_rate() -> None:
    clock = FakeClock()
    progress = Progress(100, "render", io.StringIO(), clock, warmup_items=4)
    clock.advance(60.0)  # the first batch of 4 loads and compiles
    progress.update(4)
    assert progress.rate_per_s is None and progress.eta_s() is None
    clock.advance(2.0)
    progress.update(4)
    assert progress.rate_per_s == pytest.approx(2.0)
    assert progress.eta_s() == pytest.approx(46.0)


def test_frames_are_counted_with_their_unit() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    with Progress(20, "render", stream=stream, clock=clock, unit="frame") as progress:
        for _ in range(20):
            clock.advance(2.0)
            progress.update()
    lines = plain_lines(stream)
    assert lines[0].startswith("render   10% 2/20 frames  2.0 s/frame  ETA 0:36")
    assert lines[-1] == "render  100% 20/20 frames  2.0 s/frame  elapsed 0:40"
    assert format_rate(12.34, "frame") == "12.3 frames/s"
    assert plural(1, "frame") == "1 frame" and plural(0, "image") == "0 images"
    assert plural(3, "image") == "3 images"


def test_write_puts_a_message_above_the_tty_line() -> None:
    clock = FakeClock()
    stream = TtyStringIO()
    progress = Progress(10, "render", stream=stream, clock=clock, unit="frame")
    clock.advance(1.0)
    progress.update()
    progress.write("estimate: about 0:09")
    text = stream.getvalue()
    message_at = text.index("estimate: about 0:09\n")
    assert text[:message_at].endswith("\r")  # the bar was blanked first
    assert text[message_at:].split("\n", 1)[1].startswith("\rrender   10%")  # then redrawn
