"""Logging setup (time, thread name, key=value facts) and a rate-limited logger helper."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

LOG_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)-7s [%(threadName)s] %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


LOG_FILE_MAX_BYTES = 10 * 2**20  # a log file rotates at 10 MiB ...
LOG_FILE_BACKUPS = 5  # ... and 5 old ones are kept: at most 60 MiB of logs on a gallery PC


def setup_logging(
    level: str | int = "INFO",
    log_file: str | os.PathLike | None = None,
    max_bytes: int = LOG_FILE_MAX_BYTES,
    backups: int = LOG_FILE_BACKUPS,
) -> None:
    """Configure the root logger once: stderr, plus `log_file` (appended, size-rotated)."""
    formatter = logging.Formatter(LOG_FORMAT, datefmt=DATE_FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
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
