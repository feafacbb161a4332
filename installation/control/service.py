"""The start/stop scaffolding every control server shares: one daemon thread, stopped once.

OscControl, HttpControl, the OSCQuery server and the MIDI input each run on a thread of their own
that the app starts after the render threads and stops at the end. What they share lives here:
`start()` (a second call does nothing, a stopped service cannot start again), `stop()` (ask the
thread to end, join it with a timeout and a warning, then close; safe to call twice) and the
context manager. A subclass says how its thread runs and how it is asked to end.
"""

from __future__ import annotations

import logging
import threading
from typing import TypeVar

from installation.errors import ControlError

log = logging.getLogger(__name__)

_Service = TypeVar("_Service", bound="ServiceThread")


class ServiceThread:
    """A control server on one daemon thread.

    Subclasses set `thread_name` and `service_name`, call `super().__init__()` and override:
        _run(): the thread's body; returns when the service should end;
        _request_stop(): ask `_run` to return (called on the stopping thread);
        _close(): release sockets and ports once the thread has ended or timed out;
        _after_start(): wait until the thread serves, if callers rely on that (default: no wait).
    """

    thread_name = "service"
    service_name = "service"  # in messages: "this OSC server was stopped"
    stop_timeout_s = 2.0

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._is_closed = False

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Run the service on its own thread; a second call does nothing."""
        if self._is_closed:
            raise ControlError(
                f"this {self.service_name} was stopped; make a new {type(self).__name__}"
            )
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        self._after_start()

    def stop(self, timeout_s: float | None = None) -> None:
        """End the thread (join with a timeout) and close; safe to call twice."""
        if self._is_closed:
            return
        self._is_closed = True
        timeout_s = self.stop_timeout_s if timeout_s is None else timeout_s
        self._request_stop()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("thread %s did not stop within %.1f s", self._thread.name, timeout_s)
        self._close()

    def __enter__(self: _Service) -> _Service:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        raise NotImplementedError

    def _after_start(self) -> None:
        """Called once the thread started; by default start() does not wait for it."""

    def _request_stop(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        """Called once after the thread ended (or its join timed out)."""
