"""`run_show.py --supervise`: the show runs as a child process that is restarted when it dies.

The supervisor (ProcessKeeper) is a small parent process (no torch, no GL, one thread). It starts
`run_show.py <the same options> --status-file FILE` and watches it:

- the child dies (a signal, a crash, a non-zero exit): it is started again after a back-off of
  1, 2, 4 ... 60 s (back to 1 s once a child has run for 10 minutes); after 5 failures in a
  row, each within 2 minutes of starting, the supervisor gives up (exit 1; RestartPolicy);
- the child exits 0 (quit, --frames or --duration reached): the supervisor ends too, exit 0;
- the child exits 2 (bad options, no display): restarting would only repeat it; exit 2;
- no sign of life for --supervise-timeout seconds: neither a liveness beat (a JSON line the
  show's main thread writes to a pipe every second: state, frames, show time; it needs no
  disk, so a full disk is not a hang) nor a status-file rewrite; or no new frame while not
  paused for 330 s (a backstop to the show's own render-thread recovery): the child is hung;
  SIGTERM, SIGKILL after 5 s, restart. Until the child says it is loading (state `starting`:
  imports, the show file, the kernels) it has the 300 s startup allowance;
- --restart-at HH:MM: every day at that local time the child is asked to quit (SIGTERM) and a
  fresh one starts at once (a nightly soft restart);
- SIGTERM / SIGINT / SIGHUP to the supervisor: forwarded to the child; both exit.

A restarted child continues the show time: `--start` is the last show time the child reported
(beat or status file) plus the wall-clock time since (none while paused), and
`--epoch-of-start` the wall-clock time that holds for; the new child adds the time it took to
start, so its first frame is where the show would have been. The child runs in its own session
(signals reach it only through the supervisor, which therefore always knows why it exits) and
with PR_SET_PDEATHSIG=SIGKILL, so it never outlives a supervisor that is killed without a
chance to stop it.
"""

from __future__ import annotations

import collections
import ctypes
import datetime
import json
import logging
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from installation.run.backoff import backoff_s
from installation.run.stats import LIVENESS_FD_ENV, read_beats
from installation.settings import AppSettings

log = logging.getLogger(__name__)

RUN_SHOW = Path(__file__).resolve().parents[2] / "run_show.py"
# options that only the supervisor reads, and whether each takes a value
SUPERVISOR_OPTIONS = {"--supervise": False, "--supervise-timeout": True, "--restart-at": True}
EXIT_USAGE = 2  # run_show.py: bad options or no display; restarting would repeat it
EXIT_GAVE_UP = 1
POLL_INTERVAL_S = 0.25  # how often the supervisor looks at the child and its status file
STDERR_TAIL_LINES = 3  # the child's last stderr lines, quoted when it dies
MISSED_RESTART_S = 300.0  # a --restart-at this late (suspend, clock jump) is skipped
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


@dataclass(frozen=True)
class RestartPolicy:
    """When the supervisor restarts, waits, gives up, and how long it lets a child stop."""

    backoff_first_s: float = 1.0
    backoff_max_s: float = 60.0
    healthy_run_s: float = 600.0  # a child that ran this long resets the back-off
    quick_failure_s: float = 120.0  # a child that died sooner counts towards giving up
    give_up_after: int = 5  # quick failures in a row
    hang_timeout_s: float = 60.0  # --supervise-timeout: the status file not rewritten this long
    # no new frame (not paused) this long (or hang_timeout_s if longer): a backstop only; the
    # show's own render-thread supervision handles picture stalls and allows a reload 300 s
    # (installation/run/recovery.py STARTUP_ALLOWANCE_S)
    frame_stall_s: float = 330.0
    startup_grace_s: float = 300.0  # first status allowed this late (model load, kernel build)
    hang_kill_grace_s: float = 5.0  # a hung child: SIGTERM, then SIGKILL after this
    stop_grace_s: float = 15.0  # an orderly stop (the app joins its render thread up to 10 s)
    fresh_child_s: float = 600.0  # --restart-at skips a child started less than this before

    def backoff_s(self, failure_count: int) -> float:
        """Wait before restart number `failure_count` (1-based): 1, 2, 4 ... capped at the max."""
        return backoff_s(failure_count, self.backoff_first_s, self.backoff_max_s)


class FailureCounter:
    """Failures in a row: the back-off to wait, and whether to give up."""

    def __init__(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self.failures = 0  # since the last healthy run: sets the back-off
        self.quick_failures = 0  # in a row, each soon after starting: sets giving up

    def record(self, ran_s: float) -> float | None:
        """Count a child that failed after running `ran_s`; the wait before restarting it.

        Returns None when it is time to give up.
        """
        if ran_s >= self.policy.healthy_run_s:
            self.failures = 0
        if ran_s >= self.policy.quick_failure_s:
            self.quick_failures = 0
        self.failures += 1
        self.quick_failures += ran_s < self.policy.quick_failure_s
        if self.quick_failures >= self.policy.give_up_after:
            return None
        return self.policy.backoff_s(self.failures)


def child_argv(
    argv: Sequence[str], start_s: float | None, status_file: Path | None,
    start_epoch_s: float | None = None,
) -> list[str]:  # fmt: skip
    """The child's run_show.py arguments: `argv` without the supervisor's own options.

    `--start start_s` and `--status-file status_file` are appended when given (argparse keeps
    the last value, so an earlier --start in `argv` is overridden), and `--epoch-of-start` (the
    wall-clock time start_s holds for) with a start. Options may be abbreviated or written
    `--opt=value`, as argparse allows.
    """
    result: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            result.append(token)
            result.extend(tokens)
            break
        name, has_value, _ = token.partition("=")
        option = supervisor_option(name) if token.startswith("--") else None
        if option is None:
            result.append(token)
        elif SUPERVISOR_OPTIONS[option] and not has_value:
            next(tokens, None)  # its value
    if start_s is not None:
        result += ["--start", f"{start_s:.3f}"]
        if start_epoch_s is not None:
            result += ["--epoch-of-start", f"{start_epoch_s:.3f}"]
    if status_file is not None:
        result += ["--status-file", str(status_file)]
    return result


def supervisor_option(name: str) -> str | None:
    """The supervisor option `name` spells (in full or as an argparse abbreviation), or None.

    The command line was parsed successfully first, so a prefix of one of them cannot also be
    a prefix of another option (argparse would have called it ambiguous).
    """
    if name in SUPERVISOR_OPTIONS:
        return name
    matches = [option for option in SUPERVISOR_OPTIONS if option.startswith(name)]
    return matches[0] if len(matches) == 1 and len(name) > 2 else None


def next_restart_s(now_s: float, at: datetime.time, tz: datetime.tzinfo | None = None) -> float:
    """The next time (epoch seconds, after `now_s`) the local wall clock reads `at`.

    `tz` None is the system's local time (TZ, /etc/localtime). On the night clocks go back a
    repeated time counts once (its first occurrence); a time the clocks skip on the night they
    go forward happens that much later (02:30 in a 02:00 -> 03:00 jump is 03:30).
    """
    today = datetime.datetime.fromtimestamp(now_s, tz).date()
    for days in range(3):
        wall = datetime.datetime.combine(today + datetime.timedelta(days=days), at, tzinfo=tz)
        at_s = wall.timestamp()
        if at_s > now_s:
            return at_s
    raise AssertionError("unreachable: a wall-clock time recurs within two days")


@dataclass(frozen=True)
class StatusSample:
    """What the supervisor reads from the child's status file or liveness beat."""

    pid: int
    written_s: float  # the file's modification time (a beat: when it came), epoch seconds
    frames_shown: int
    show_time_s: float | None  # None while the show is starting or loading
    is_paused: bool
    speed: float
    is_running: bool
    state: str = "playing"  # starting, loading, playing, stopped (older shows: none)


def read_status(path: Path) -> StatusSample | None:
    """The status file's facts, or None when it is missing, half-written or not a status."""
    try:
        written_s = path.stat().st_mtime
        record = json.loads(path.read_text(encoding="utf-8"))
        return status_sample(record, written_s)
    except (OSError, ValueError):
        return None


def status_sample(record: dict, written_s: float, pid: int | None = None) -> StatusSample | None:
    """A status record or a beat (`pid` given: the child it came from) as a sample, or None."""
    try:
        show_time_s = record.get("show_time_s")
        state = str(record.get("state") or ("loading" if record.get("loading") else "playing"))
        return StatusSample(
            pid=int(record["pid"] if pid is None else pid),
            written_s=written_s,
            frames_shown=int(record.get("frames_shown") or 0),
            show_time_s=None if show_time_s is None else float(show_time_s),
            is_paused=bool(record.get("paused")) or state in ("starting", "loading"),
            speed=float(record.get("speed") or 1.0),
            is_running=bool(record.get("running", True)),
            state=state,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def continued_start_s(sample: StatusSample, now_s: float) -> float:
    """The show time now, had the sampled show played on: its show time + the time since.

    Paused (or closed for the opening hours) the show time stands still.
    """
    assert sample.show_time_s is not None
    if sample.is_paused:
        return sample.show_time_s
    return sample.show_time_s + max(0.0, sample.speed) * max(0.0, now_s - sample.written_s)


def die_with_parent() -> Callable[[], None] | None:
    """A Popen preexec_fn: the child gets SIGKILL when this process dies (Linux prctl).

    None where prctl is missing (not Linux): a supervisor killed with SIGKILL then leaves the
    show running; its orderly exits still stop it.
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent_pid = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def exit_text(returncode: int) -> str:
    """'exit=1' or 'signal=SIGKILL' for a Popen return code."""
    if returncode < 0:
        try:
            return f"signal={signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal={-returncode}"
    return f"exit={returncode}"


class Child:
    """One run of the show: the process, its stderr passed through, the last stderr lines, and
    its liveness beats (a pipe whose write end the child gets as $LATENT_WALK_LIVENESS_FD)."""

    def __init__(self, command: Sequence[str]) -> None:
        self.command = list(command)
        self.started_s = time.monotonic()
        beat_fd, child_beat_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                start_new_session=True, preexec_fn=die_with_parent(), pass_fds=(child_beat_fd,),
                env={**os.environ, LIVENESS_FD_ENV: str(child_beat_fd)},
            )  # fmt: skip
        except BaseException:
            os.close(beat_fd)
            raise
        finally:
            os.close(child_beat_fd)  # the child's copy stays open in the child only
        assert self.process.stderr is not None
        self.stderr_fd = self.process.stderr.fileno()
        os.set_blocking(self.stderr_fd, False)
        os.set_blocking(beat_fd, False)
        self.beat_fd = beat_fd
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.stderr_fd, selectors.EVENT_READ)
        self.selector.register(beat_fd, selectors.EVENT_READ)
        self.tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self.partial = b""
        self.is_relaying = True
        self.beat_partial = b""
        self.last_beat: StatusSample | None = None  # the newest beat, as a sample

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    def pump(self, timeout_s: float, max_reads: int = 16) -> None:
        """Pass the child's stderr through (whole lines), waiting up to `timeout_s` for some.

        At most `max_reads` chunks of 64 KiB: a flood of output cannot keep the supervisor from
        watching the child.
        """
        if self.stderr_fd < 0 and self.beat_fd < 0:
            time.sleep(timeout_s)
            return
        ready = {key.fd for key, _ in self.selector.select(timeout_s)}
        if self.beat_fd in ready:
            self.read_beats()
        if self.stderr_fd not in ready:
            return
        for _ in range(max_reads):
            try:
                chunk = os.read(self.stderr_fd, 65536)
            except BlockingIOError:
                return
            if not chunk:  # end of file: the child has exited (or closed stderr)
                self.relay(self.partial + b"\n" if self.partial else b"")
                self.close_stderr()
                return
            lines, _, self.partial = (self.partial + chunk).rpartition(b"\n")
            if lines:
                self.relay(lines + b"\n")

    def read_beats(self) -> None:
        """Take the beats waiting in the pipe; the newest becomes `last_beat`."""
        try:
            chunk = os.read(self.beat_fd, 65536)
        except BlockingIOError:
            return
        if not chunk:  # the child has exited (or closed the pipe)
            self.close_beats()
            return
        beats, self.beat_partial = read_beats(self.beat_partial + chunk)
        for beat in beats:
            sample = status_sample(beat, time.time(), pid=self.pid)
            if sample is not None:
                self.last_beat = sample

    def close_beats(self) -> None:
        """Stop reading the liveness pipe."""
        if self.beat_fd >= 0:
            self.selector.unregister(self.beat_fd)
            os.close(self.beat_fd)
            self.beat_fd = -1

    def relay(self, data: bytes) -> None:
        """Write child output lines to our stderr and remember the last ones."""
        for line in data.decode("utf-8", "replace").splitlines():
            if line.strip():
                self.tail.append(line.strip())
        if data and self.is_relaying:
            try:
                sys.stderr.buffer.write(data)
                sys.stderr.buffer.flush()
            except (OSError, ValueError, AttributeError):
                self.is_relaying = False  # nowhere to write: the lines still go to the tail

    def close_stderr(self) -> None:
        """Stop reading the child's stderr and beats (it has ended)."""
        if self.stderr_fd >= 0:
            self.selector.unregister(self.stderr_fd)
            assert self.process.stderr is not None
            self.process.stderr.close()
            self.stderr_fd = -1
        self.close_beats()
        self.selector.close()  # idempotent; pump() no longer selects once both are closed

    def poll(self) -> int | None:
        """The return code once the child has exited (its stderr read to the end), else None."""
        returncode = self.process.poll()
        if returncode is not None and self.stderr_fd >= 0:
            self.pump(0.0, max_reads=1024)  # what the child wrote before it exited
            self.close_stderr()
        return returncode

    def stop(self, grace_s: float, sig: int = signal.SIGTERM) -> int:
        """Send `sig`; SIGKILL if the child is still there after `grace_s`; its return code."""
        self.send(sig)
        deadline_s = time.monotonic() + grace_s
        while self.poll() is None:
            if time.monotonic() >= deadline_s:
                log.warning("show process did not stop pid=%d grace_s=%g: SIGKILL", self.pid,
                            grace_s)  # fmt: skip
                self.send(signal.SIGKILL)
                self.process.wait()
                return self.poll() or 0
            self.pump(min(POLL_INTERVAL_S, max(0.0, deadline_s - time.monotonic())))
        return self.process.returncode

    def send(self, sig: int) -> None:
        """Signal the child (nothing if it has already gone)."""
        try:
            self.process.send_signal(sig)
        except ProcessLookupError:
            pass  # it exited between our poll and this signal: nothing left to do


class Watchdog:
    """Decides from the beats and the status file whether a child still makes progress."""

    def __init__(self, child_pid: int, started_s: float, policy: RestartPolicy) -> None:
        self.child_pid = child_pid
        self.policy = policy
        self.started_s = started_s
        # per source (the beat, the status file): (written_s, frames_shown) of its last sample
        self.last_seen: dict[str, tuple[float, int]] = {}
        self.last_write_seen_s: float | None = None  # monotonic, when a source last changed
        self.last_progress_s: float | None = None  # monotonic, a new frame (or paused)
        self.state = ""  # the child's last reported state

    def update(self, sample: StatusSample | None, now_s: float, source: str = "file") -> None:
        """Take a sample read at monotonic time `now_s` (ignored unless from the child).

        Each source is compared with its own previous sample: a beat and a status file written
        at other times (with other frame counts) are not mistaken for change.
        """
        if sample is None or sample.pid != self.child_pid:
            return
        previous = self.last_seen.get(source)
        if previous is not None and sample.written_s == previous[0]:
            return
        self.last_seen[source] = (sample.written_s, sample.frames_shown)
        self.last_write_seen_s = now_s
        self.state = sample.state
        if previous is None or sample.frames_shown != previous[1] or sample.is_paused:
            self.last_progress_s = now_s

    def stall(self, now_s: float) -> str | None:
        """Why the child looks hung (a short reason), or None while it makes progress."""
        timeout_s = self.policy.hang_timeout_s
        if self.last_write_seen_s is None or self.last_progress_s is None or (
            self.state == "starting"
        ):  # imports, the show file, a kernel build: the startup allowance
            grace_s = max(timeout_s, self.policy.startup_grace_s)
            if now_s - self.started_s > grace_s:
                what = "not past starting" if self.state == "starting" else "no sign of life"
                return f"{what} within {grace_s:g} s of starting"
            return None
        if now_s - self.last_write_seen_s > timeout_s:
            return (f"no liveness beat or status write for {now_s - self.last_write_seen_s:.0f} "
                    "s")  # fmt: skip
        if now_s - self.last_progress_s > max(timeout_s, self.policy.frame_stall_s):
            return f"no new frame for {now_s - self.last_progress_s:.0f} s (not paused)"
        return None


class ProcessKeeper:
    """Starts the show, watches it, restarts it; run() returns the supervisor's exit code.

    `command_for(start_s, epoch_s)` gives the child's command line: start_s None for the first
    start (the operator's own --start), else the show time to continue from, which holds at
    wall-clock time epoch_s (None: the show was paused; its time stands still).
    """

    def __init__(
        self,
        command_for: Callable[[float | None, float | None], list[str]],
        status_file: Path,
        policy: RestartPolicy | None = None,
        restart_at: datetime.time | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.command_for = command_for
        self.status_file = status_file
        self.policy = policy or RestartPolicy()
        self.restart_at = restart_at
        self.wall_clock = wall_clock
        self.failures = FailureCounter(self.policy)
        self.stop_signal: int | None = None
        self.last_sample: StatusSample | None = None  # with a show time, from any child
        self.next_restart_s: float | None = None
        self.restarts = 0
        self.child: Child | None = None  # the running one

    def stop_child(self) -> None:
        """Stop a child that is still running (the supervisor is ending for another reason)."""
        if self.child is not None and self.child.poll() is None:
            log.warning("stopping show process pid=%d: the supervisor is ending", self.child.pid)
            self.child.stop(self.policy.stop_grace_s)

    def request_stop(self, signum: int, frame: object = None) -> None:
        """Signal handler: stop the child and end (the signal is forwarded to the child)."""
        self.stop_signal = signum

    def run(self) -> int:
        """Supervise until the show ends, a stop signal, an unrestartable exit or giving up."""
        while True:
            child = self.spawn(is_restart=self.restarts > 0)
            outcome, returncode = self.watch(child)
            ran_s = time.monotonic() - child.started_s
            if outcome == "stop":
                log.info("supervisor stopped by %s; show %s", signal.Signals(self.stop_signal or
                         signal.SIGTERM).name, exit_text(returncode))  # fmt: skip
                return 0
            if outcome == "exit" and returncode in (0, EXIT_USAGE):
                return self.ended(child, returncode)
            if outcome != "nightly":
                wait_s = self.failed(child, outcome, returncode, ran_s)
                if wait_s is None:
                    return EXIT_GAVE_UP
                if not self.sleep(wait_s):
                    log.info("supervisor stopped while waiting to restart")
                    return 0
            self.restarts += 1

    def spawn(self, is_restart: bool) -> Child:
        """Start a child: the first as the operator asked, a restart continuing the show time."""
        start_s, epoch_s = self.continued_start() if is_restart else (None, None)
        child = Child(self.command_for(start_s, epoch_s))
        log.info("show process started pid=%d start_s=%s restarts=%d", child.pid,
                 "as given" if start_s is None else f"{start_s:.3f}", self.restarts)  # fmt: skip
        if self.restart_at is not None:  # a child this young is fresh enough for tonight
            self.next_restart_s = next_restart_s(
                self.wall_clock() + self.policy.fresh_child_s, self.restart_at
            )
        self.child = child
        return child

    def watch(self, child: Child) -> tuple[str, int]:
        """Follow the child until it exits or must go: (outcome, return code).

        Outcomes: exit (by itself), stop (a stop signal), hung, nightly (--restart-at).
        """
        watchdog = Watchdog(child.pid, child.started_s, self.policy)
        while True:
            child.pump(POLL_INTERVAL_S)
            returncode = child.poll()
            self.take_sample(watchdog)
            if returncode is not None:
                return "exit", returncode
            if self.stop_signal is not None:
                forwarded = signal.SIGINT if self.stop_signal == signal.SIGINT else signal.SIGTERM
                return "stop", child.stop(self.policy.stop_grace_s, forwarded)
            reason = watchdog.stall(time.monotonic())
            if reason is not None:
                log.warning("show process hung pid=%d: %s; stopping it", child.pid, reason)
                return "hung", child.stop(self.policy.hang_kill_grace_s)
            if self.is_restart_due():
                log.info("nightly restart at %s pid=%d", self.restart_at, child.pid)
                returncode = child.stop(self.policy.stop_grace_s)
                self.take_sample(watchdog)  # the child's last words: its final show time
                return "nightly", returncode

    def take_sample(self, watchdog: Watchdog) -> None:
        """Read the beat and the status file: feed the watchdog, keep the latest show time."""
        beat = self.child.last_beat if self.child is not None else None
        for source, sample in (("beat", beat), ("file", read_status(self.status_file))):
            watchdog.update(sample, time.monotonic(), source)
            if sample is not None and sample.pid == watchdog.child_pid:
                if sample.show_time_s is not None and (
                    self.last_sample is None or sample.written_s >= self.last_sample.written_s
                    or self.last_sample.pid != sample.pid
                ):  # fmt: skip
                    self.last_sample = sample

    def is_restart_due(self) -> bool:
        """True when the --restart-at time has come (one missed by far is skipped)."""
        if self.next_restart_s is None or self.restart_at is None:
            return False
        now_s = self.wall_clock()
        if now_s < self.next_restart_s:
            return False
        if now_s - self.next_restart_s > MISSED_RESTART_S:
            log.info("nightly restart skipped: missed by %.0f s (clock change or suspend)",
                     now_s - self.next_restart_s)  # fmt: skip
            self.next_restart_s = next_restart_s(now_s, self.restart_at)
            return False
        return True

    def ended(self, child: Child, returncode: int) -> int:
        """The child exited 0 (the show ended) or 2 (usage, no display): so does the supervisor."""
        if returncode == 0:
            log.info("show ended pid=%d exit=0; supervisor ends", child.pid)
        else:
            log.error("show process exited %d (bad options or no display; restarting would "
                      "repeat it) pid=%d%s; supervisor ends", returncode, child.pid,
                      last_words(child))  # fmt: skip
        return returncode

    def failed(self, child: Child, outcome: str, returncode: int, ran_s: float) -> float | None:
        """Log a failed child; the wait before restarting, or None (logged) to give up."""
        wait_s = self.failures.record(ran_s)
        what = "hung and was stopped" if outcome == "hung" else "died"
        if wait_s is None:
            log.error("show process %s pid=%d %s ran_s=%.1f%s; giving up after %d failures in "
                      "a row, each within %g s of starting", what, child.pid,
                      exit_text(returncode), ran_s, last_words(child),
                      self.failures.quick_failures, self.policy.quick_failure_s)  # fmt: skip
            return None
        log.warning("show process %s pid=%d %s ran_s=%.1f%s; restart in %g s (failure %d in a "
                    "row)", what, child.pid, exit_text(returncode), ran_s, last_words(child),
                    wait_s, self.failures.failures)  # fmt: skip
        return wait_s

    def sleep(self, duration_s: float) -> bool:
        """Wait `duration_s`; False when a stop signal came meanwhile."""
        deadline_s = time.monotonic() + duration_s
        while self.stop_signal is None:
            left_s = deadline_s - time.monotonic()
            if left_s <= 0:
                return True
            time.sleep(min(left_s, POLL_INTERVAL_S))
        return False

    def continued_start(self) -> tuple[float | None, float | None]:
        """The next child's --start and --epoch-of-start (None, None: no show time yet).

        The show time is the last reported one carried on to now; the epoch is now, unless the
        show was paused (its time stands still while the new child starts).
        """
        if self.last_sample is None:
            return None, None
        now_s = time.time()  # the file and beat times are wall-clock times
        epoch_s = None if self.last_sample.is_paused else now_s
        return continued_start_s(self.last_sample, now_s), epoch_s


def last_words(child: Child) -> str:
    """' last_stderr="..."' with the child's last stderr lines, or '' when it wrote none."""
    if not child.tail:
        return ""
    return ' last_stderr="' + " | ".join(child.tail).replace('"', "'") + '"'


def run(settings: AppSettings, argv: Sequence[str]) -> int:
    """Supervise `run_show.py argv` (argv already parsed into `settings`); the exit code.

    Logging is set up already (run_show.py: --log-file followed, the child rotates it).

    The command line has been checked (an unwritable --status-file or --log-file was a usage
    error); a status file that cannot be written later (a full disk) is not taken for a hang:
    the child's liveness beats say it is alive.
    """
    status_file = settings.status_file
    private_dir = None
    if status_file is None:
        runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
        base_dir = runtime_dir if runtime_dir and os.path.isdir(runtime_dir) else None
        private_dir = Path(tempfile.mkdtemp(prefix="latent-walk-supervise-", dir=base_dir))
        status_file = private_dir / "status.json"
    extra_status = status_file if settings.status_file is None else None
    base_argv = list(argv)

    def command_for(start_s: float | None, epoch_s: float | None) -> list[str]:
        argv = child_argv(base_argv, start_s, extra_status, epoch_s)
        return [sys.executable, str(RUN_SHOW), *argv]

    policy = RestartPolicy(hang_timeout_s=settings.supervise_timeout_s)
    supervisor = ProcessKeeper(command_for, status_file, policy, settings.restart_at)
    previous = {sig: signal.signal(sig, supervisor.request_stop) for sig in STOP_SIGNALS}
    log.info("supervisor started pid=%d timeout_s=%g restart_at=%s status_file=%s", os.getpid(),
             policy.hang_timeout_s, settings.restart_at or "-", status_file)  # fmt: skip
    try:
        return supervisor.run()
    finally:
        supervisor.stop_child()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if private_dir is not None:
            shutil.rmtree(private_dir, ignore_errors=True)
