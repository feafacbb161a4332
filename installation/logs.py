"""Logging setup (time, thread name, key=value facts) and a rate-limited logger helper.

A log file that cannot be written (a full disk, a vanished folder) never stops the show and
never prints a traceback: the failure is one ERROR line on stderr, at most every 10 minutes,
and one line more when writing works again.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

LOG_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)-7s [%(threadName)s] %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


LOG_FILE_MAX_BYTES = 10 * 2**20  # a log file rotates at 10 MiB ...
LOG_FILE_BACKUPS = 5  # ... and 5 old ones are kept: at most 60 MiB of logs on a gallery PC
WRITE_FAILURE_INTERVAL_S = 600.0  # a log file that cannot be written: one line per 10 minutes

log = logging.getLogger(__name__)


def setup_logging(
    level: str | int = "INFO",
    log_file: str | os.PathLike | None = None,
    max_bytes: int = LOG_FILE_MAX_BYTES,
    backups: int = LOG_FILE_BACKUPS,
    log_file_mode: Literal["rotate", "follow"] = "rotate",
) -> None:
    """Configure the root logger once: stderr, plus `log_file` (appended).

    The one logging set-up of the show, its process keeper and the `latent-walk` command line.
    `log_file_mode` "rotate": this process rotates the file by size (the show); "follow": another
    process rotates it and this one reopens the file after each rotation, so its lines land in
    the current log (the process keeper, which shares the show's --log-file).
    """
    formatter = logging.Formatter(LOG_FORMAT, datefmt=DATE_FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        if log_file_mode == "follow":
            handlers.append(SafeWatchedFileHandler(log_file, encoding="utf-8"))
        else:
            handlers.append(
                SafeRotatingFileHandler(
                    log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
                )
            )
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # e.g. pygame's "regular vsync ... not available" warning


class ReportsWriteFailures(logging.FileHandler):
    """A file handler whose failed writes are logged rate-limited, never as a traceback.

    logging's own handleError prints a traceback on stderr for every failed record; on a full
    disk that is a traceback per log line. Here the failure is one ERROR line (reaching the
    other handlers, stderr) every WRITE_FAILURE_INTERVAL_S, with the count since, and a line
    when a write works again. Mixed into the file handlers below (first in their bases).
    """

    failed_writes = 0
    _next_report_s = -float("inf")
    _is_reporting = False
    _has_failed_now = False

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record; after failures, say so once a write works again."""
        self._has_failed_now = False
        try:  # WatchedFileHandler reopens, and FileHandler opens, outside logging's own try
            super().emit(record)
        except (OSError, ValueError):
            self.handleError(record)
        if self.failed_writes and not self._has_failed_now and not self._is_reporting:
            count, self.failed_writes = self.failed_writes, 0
            self._next_report_s = -float("inf")
            self._report(logging.WARNING, "log file writable again path=%s after %d failed "
                         "writes", self.baseFilename, count)  # fmt: skip

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        """Count the failed write; report it unless one was reported recently."""
        self._has_failed_now = True
        if self._is_reporting:  # our own report could not be written either
            return
        self.failed_writes += 1
        now_s = time.monotonic()
        if now_s < self._next_report_s:
            return
        self._next_report_s = now_s + WRITE_FAILURE_INTERVAL_S
        error = sys.exc_info()[1]
        self._report(logging.ERROR, "log file not written path=%s: %s (%d failed writes; the "
                     "show plays on; next report in %.0f s at most)", self.baseFilename,
                     error or "unknown error", self.failed_writes,
                     WRITE_FAILURE_INTERVAL_S)  # fmt: skip

    def close(self) -> None:
        """Close the file; what a full disk kept in the buffer is lost, not raised at exit."""
        try:
            super().close()
        except OSError:  # the final flush failed (counted; logging is shutting down)
            self.failed_writes += 1

    def _report(self, level: int, msg: str, *args: object) -> None:
        """Log through the other handlers (this one skips its own report)."""
        self._is_reporting = True
        try:
            log.log(level, msg, *args)
        finally:
            self._is_reporting = False


class SafeRotatingFileHandler(ReportsWriteFailures, logging.handlers.RotatingFileHandler):
    """The show's --log-file: size-rotated; failed writes reported, never raised."""


class SafeWatchedFileHandler(ReportsWriteFailures, logging.handlers.WatchedFileHandler):
    """The supervisor's --log-file (follows the show's rotation); failed writes reported."""


class RateLimitedLog:
    """Logs the first message of a burst, then at most one "suppressed N similar in T s" line.

    One instance stands for one kind of message (e.g. "render failed"). Within `interval_s` of
    the last message that was written, further calls are only counted; the next call after the
    interval writes its own message preceded by the count of the suppressed ones.
    """

    def __init__(
        self,
        logger: logging.Logger,
        interval_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self.clock = clock
        self.suppressed_count = 0
        self._last_written_s: float | None = None

    def log(self, level: int, msg: str, *args: object, exc_info: bool = False) -> bool:
        """Log `msg % args` unless suppressed; returns True when it was written."""
        now_s = self.clock()
        if self._last_written_s is not None and now_s - self._last_written_s < self.interval_s:
            self.suppressed_count += 1
            return False
        if self.suppressed_count:
            self.logger.log(
                level, "suppressed %d similar in %.0f s", self.suppressed_count,
                now_s - self._last_written_s,
            )  # fmt: skip
            self.suppressed_count = 0
        self._last_written_s = now_s
        self.logger.log(level, msg, *args, exc_info=exc_info, stacklevel=2)
        return True

    def flush(self, level: int = logging.WARNING) -> None:
        """Write the pending "suppressed N similar" line, if any (e.g. at shutdown)."""
        if self.suppressed_count and self._last_written_s is not None:
            self.logger.log(
                level, "suppressed %d similar in %.0f s", self.suppressed_count,
                self.clock() - self._last_written_s,
            )  # fmt: skip
            self.suppressed_count = 0
