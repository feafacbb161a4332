#!/usr/bin/env python3
"""Play a latent-walk show: `python run_show.py [shows/demo.yaml] [--windowed] [--headless] ...`.

Parses the command line, sets up logging and hands over to installation.app.run(), or with
--supervise to installation.run.process_keeper.run() (the show as a restarted child process);
nothing else. A startup failure prints its reason on stderr (a broken show: one line per
problem) and exits non-zero (2: no display).
SIGTERM quits like Ctrl-C (`systemctl stop`, the supervisor's restart): the show stops cleanly.
The CPU thread policy is chosen first, before anything imports torch (installation/threads.py).
"""

from __future__ import annotations

from installation import threads

threads.choose_policy()  # first: OpenMP reads its settings once, when torch loads it

import signal  # noqa: E402
import sys  # noqa: E402

from installation.packages import missing_dependency, setup_hint  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the show (or supervise it); returns the exit code.

    Run with a Python that lacks the app's packages (not the venv), it says in one line how to
    set up instead of ending in a traceback.
    """
    try:
        return play(argv)
    except ModuleNotFoundError as err:
        if missing_dependency(err) is None:
            raise
        print(f"run_show: {setup_hint(err, '.venv/bin/python run_show.py')}", file=sys.stderr)
        return 1


def play(argv: list[str] | None) -> int:
    """Parse the command line, then play the show or supervise it."""
    from installation.errors import InstallationError
    from installation.logs import setup_logging
    from installation.settings import settings_from_argv

    settings = settings_from_argv(argv)
    # the show rotates its --log-file; the process keeper appends to the same file and follows
    setup_logging(settings.log_level, settings.log_file,
                  log_file_mode="follow" if settings.is_supervised else "rotate")  # fmt: skip
    if settings.is_supervised:  # the supervisor imports neither torch nor GL
        from installation.run import process_keeper

        return process_keeper.run(settings, sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if not settings.is_offline:  # before torch loads: monitoring sees a slow start as one
            from installation.run.stats import announce_start

            announce_start(settings.status_file, settings.show_path)
        from installation import app

        threads.configure_torch(settings.threads)
        return app.run(settings)
    except InstallationError as err:
        for line in str(err).splitlines() or [type(err).__name__]:  # a show's: one per problem
            print(f"run_show: {line}", file=sys.stderr)
        return getattr(err, "exit_code", 1)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM during startup; the show loop handles its own
        return 130


if __name__ == "__main__":
    sys.exit(main())
