"""Send sensor readings to the show as /sensor/<name> OSC messages.

Run: python sensor_bridge.py SOURCE [--host H] [--port P] [--name NAME] [--baud B]
                                    [--rate-limit N] [--scale A] [--offset B]

SOURCE is a serial device (/dev/ttyUSB0; on macOS a /dev/cu.* one, which opens without waiting
for a carrier), any file or named pipe, or `-` for standard input. Each line is one reading:

    512            -> /sensor/<NAME> 512.0
    512 300        -> /sensor/<NAME> 512.0 300.0       (spaces or commas between values)
    distance=512   -> /sensor/distance 512.0           (the line names its sensor)

Each value is sent as `value * scale + offset` (a float). Blank lines are ignored; other lines
that do not read as above are skipped and logged, at most one line per 10 s with a count. At
most --rate-limit messages a second are sent; a reading that arrives sooner waits, and a newer
reading of the same sensor replaces it (the latest wins). With --rate-limit 0 every reading is
sent, in order. A serial device that is missing or
vanishes is reopened every --retry-s seconds; standard input, a file or a pipe ends the bridge
at its end (exit status 0).

A serial device's baud rate is set with `stty` when it is available (no pyserial needed). The
script needs only the standard library and python-osc, so a technician can copy it on its own
to the sensor's machine: `pip install python-osc`.
"""

from __future__ import annotations

import argparse
import io
import logging
import math
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import TextIO

from pythonosc.udp_client import SimpleUDPClient

log = logging.getLogger("sensor_bridge")

NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")  # what the show takes after /sensor/
SEPARATOR = re.compile(r"[\s,;]+")
MAX_VALUES = 16  # more numbers on one line is garbage, not a reading
LOG_INTERVAL_S = 10.0  # at most one line per kind of problem per this


class RateLimitedLog:
    """Logs the first message, then at most one per interval with the count of those skipped."""

    def __init__(self, interval_s: float = LOG_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self.suppressed_count = 0
        self._last_s: float | None = None

    def log(self, level: int, msg: str, *args: object) -> None:
        now_s = time.monotonic()
        if self._last_s is not None and now_s - self._last_s < self.interval_s:
            self.suppressed_count += 1
            return
        if self.suppressed_count:
            msg += f" (and {self.suppressed_count} similar in the last {self.interval_s:g} s)"
        log.log(level, msg, *args)
        self._last_s, self.suppressed_count = now_s, 0


def parse_reading(
    line: str, default_name: str, scale: float = 1.0, offset: float = 0.0
) -> tuple[str, list[float]] | None:
    """One line -> (sensor name, scaled values), or None for garbage.

    Raises nothing: a blank line gives ("", []), which the caller ignores.
    """
    text = line.strip()
    if not text:
        return "", []
    name = default_name
    if "=" in text:
        name, _, text = (part.strip() for part in text.partition("="))
        if not NAME.fullmatch(name):
            return None
    parts = [part for part in SEPARATOR.split(text) if part]
    if not 1 <= len(parts) <= MAX_VALUES:
        return None
    values = []
    for part in parts:
        try:
            value = float(part) * scale + offset
        except ValueError:
            return None
        if not math.isfinite(value):
            return None
        values.append(value)
    return name, values


class Latest:
    """Readings waiting to be sent, oldest first; shared by the reader and the sender thread.

    With `keeps_all` false (a rate limit), a sensor has at most one waiting reading: a newer one
    replaces its values and keeps its place in the line.
    """

    def __init__(self, keeps_all: bool) -> None:
        self.keeps_all = keeps_all
        self._pending: deque[tuple[str, list[float]]] = deque()
        self._is_done = False
        self._changed = threading.Condition()

    def put(self, name: str, values: list[float]) -> None:
        with self._changed:
            for index, (waiting, _) in enumerate(self._pending):
                if waiting == name and not self.keeps_all:
                    self._pending[index] = (name, values)  # the latest wins
                    break
            else:
                self._pending.append((name, values))
            self._changed.notify()

    def finish(self) -> None:
        with self._changed:
            self._is_done = True
            self._changed.notify()

    def take(self, not_before_s: float) -> tuple[str, list[float]] | None:
        """Wait for a reading and for `not_before_s` (monotonic); None when done and empty."""
        with self._changed:
            while True:
                now_s = time.monotonic()
                if self._pending and now_s >= not_before_s:
                    return self._pending.popleft()
                if not self._pending and self._is_done:
                    return None
                self._changed.wait(None if not self._pending else not_before_s - now_s)


def is_serial(path: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def open_source(path: str, baud: int) -> TextIO:
    """Open a device or file for reading text; set a serial device's baud rate with stty."""
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    source = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 (closed by caller)
    stty = shutil.which("stty")
    if is_serial(path) and stty:
        # stty works on the terminal given as its stdin (Linux and macOS alike)
        done = subprocess.run(
            [stty, str(baud), "raw", "-echo", "clocal"],
            stdin=source,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            log.warning("stty could not set %s to %d baud: %s", path, baud, done.stderr.strip())
    elif is_serial(path):
        log.warning("no stty here: %s keeps its current baud rate", path)
    return source


def read_lines(path: str, baud: int, retry_s: float, stopping: threading.Event) -> Iterator[str]:
    """Lines from the source; a serial device is reopened after it vanishes, forever."""
    problems = RateLimitedLog(max(retry_s, LOG_INTERVAL_S))
    while not stopping.is_set():
        try:
            with open_source(path, baud) as source:
                log.info("reading %s", "standard input" if path == "-" else path)
                yield from source
        except OSError as error:
            if not (path != "-" and (is_serial(path) or not os.path.exists(path))):
                raise
            problems.log(logging.WARNING, "%s: %s; retrying every %g s", path, error, retry_s)
        else:
            if path == "-" or not is_serial(path):
                return  # the end of stdin, a file or a pipe
            problems.log(logging.WARNING, "%s ended; reopening every %g s", path, retry_s)
        stopping.wait(retry_s)


class Counts:
    """What happened, for the last log line (written by the reader, read after it finished)."""

    def __init__(self) -> None:
        self.skipped = 0
        self.is_read_failed = False


def read_into(
    latest: Latest, args: argparse.Namespace, counts: Counts, stopping: threading.Event
) -> None:
    """The reader thread: parse lines into `latest`; finish it at the end of the source."""
    garbage = RateLimitedLog()
    try:
        for line in read_lines(args.source, args.baud, args.retry_s, stopping):
            reading = parse_reading(line, args.name, args.scale, args.offset)
            if reading is None:
                counts.skipped += 1
                garbage.log(
                    logging.WARNING, "skipped a line that is not a reading: %r", line.strip()[:80]
                )
            elif reading[1]:
                latest.put(*reading)
    except OSError as error:
        log.error("cannot read %s: %s", args.source, error)
        counts.is_read_failed = True
    finally:
        latest.finish()


def run(args: argparse.Namespace) -> int:
    """Read in a thread, send from this one at most --rate-limit messages a second."""
    client = SimpleUDPClient(args.host, args.port)
    latest, counts, stopping = Latest(args.rate_limit == 0), Counts(), threading.Event()
    reader = threading.Thread(
        target=read_into, args=(latest, args, counts, stopping), name="reader", daemon=True
    )
    reader.start()
    interval_s = 1.0 / args.rate_limit if args.rate_limit > 0 else 0.0
    send_errors, sent_count, next_s = RateLimitedLog(), 0, 0.0
    try:
        while (reading := latest.take(next_s)) is not None:
            name, values = reading
            try:
                client.send_message(f"/sensor/{name}", values)
                sent_count += 1
                log.debug("sent /sensor/%s %s", name, values)
            except OSError as error:
                send_errors.log(
                    logging.ERROR, "cannot send to %s:%d: %s", args.host, args.port, error
                )
            next_s = time.monotonic() + interval_s
    except KeyboardInterrupt:
        stopping.set()
        log.info("stopped; sent %d messages", sent_count)
        return 130
    log.info("end of %s; sent %d messages, skipped %d lines", args.source, sent_count,
             counts.skipped)  # fmt: skip
    return 1 if counts.is_read_failed else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Lines: '512', '512 300' or 'name=512'. See the top of this file.",
    )
    parser.add_argument("source", help="serial device or file to read, or - for standard input")
    parser.add_argument("--host", default="127.0.0.1", help="the show's address (127.0.0.1)")
    parser.add_argument("--port", type=int, default=9000, help="the show's --osc-port (9000)")
    parser.add_argument("--name", default="sensor", help="sensor name for lines without one")
    parser.add_argument("--baud", type=int, default=9600, help="serial baud rate (9600)")
    parser.add_argument(
        "--rate-limit", type=float, default=30.0, metavar="N",
        help="send at most N messages a second, the latest reading winning; 0 = no limit (30)",
    )  # fmt: skip
    parser.add_argument("--scale", type=float, default=1.0, help="multiply each value by this")
    parser.add_argument("--offset", type=float, default=0.0, help="then add this")
    parser.add_argument(
        "--retry-s", type=float, default=3.0, help="reopen a vanished device after this (3)"
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    args = parser.parse_args(argv)
    if not NAME.fullmatch(args.name):
        parser.error(f"--name must be 1..100 letters, digits, '_', '.', '-', got {args.name!r}")
    if args.rate_limit < 0 or args.retry_s <= 0 or not 0 < args.port < 65536:
        parser.error("--rate-limit must be >= 0, --retry-s > 0 and --port 1..65535")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
