#!/usr/bin/env python3
"""Play a latent-walk show: `python run_show.py [shows/demo.yaml] [--windowed] [--headless] ...`.

Parses the command line, sets up logging and hands over to installation.app.run(); nothing
else. A startup failure prints one line on stderr and exits non-zero (2: no display).
"""

from __future__ import annotations

import sys

from installation import app
from installation.errors import InstallationError
from installation.logs import setup_logging
from installation.settings import settings_from_argv


def main(argv: list[str] | None = None) -> int:
    """Run the show; returns the exit code."""
    settings = settings_from_argv(argv)
    setup_logging(settings.log_level, settings.log_file)
    try:
        return app.run(settings)
    except InstallationError as err:
        reason = " | ".join(str(err).splitlines()) or type(err).__name__
        print(f"run_show: {reason}", file=sys.stderr)
        return getattr(err, "exit_code", 1)
    except KeyboardInterrupt:  # Ctrl-C during startup; the show loop handles its own
        return 130


if __name__ == "__main__":
    sys.exit(main())
