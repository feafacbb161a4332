#!/usr/bin/env python3
"""Play a latent-walk show: `python run_show.py [shows/demo.yaml] [--windowed] [--headless] ...`.

Parses the command line, sets up logging and hands over to installation.app.run(), or with
--supervise to installation.supervise.run() (the show as a restarted child process); nothing
else. A startup failure prints one line on stderr and exits non-zero (2: no display).
SIGTERM quits like Ctrl-C (`systemctl stop`, the supervisor's restart): the show stops cleanly.
"""

from __future__ import annotations

import signal
import sys

from installation.errors import InstallationError
from installation.logs import setup_logging
from installation.settings import settings_from_argv


def main(argv: list[str] | None = None) -> int:
    """Run the show (or supervise it); returns the exit code."""
    settings = settings_from_argv(argv)
    if settings.is_supervised:  # the supervisor imports neither torch nor GL
        from installation import supervise

        return supervise.run(settings, sys.argv[1:] if argv is None else argv)
    setup_logging(settings.log_level, settings.log_file)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        from installation import app

        return app.run(settings)
    except InstallationError as err:
        reason = " | ".join(str(err).splitlines()) or type(err).__name__
        print(f"run_show: {reason}", file=sys.stderr)
        return getattr(err, "exit_code", 1)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM during startup; the show loop handles its own
        return 130


if __name__ == "__main__":
    sys.exit(main())
