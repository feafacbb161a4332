"""`latent-walk` and `python -m installation`: the CPU thread policy first, then the CLI."""

from __future__ import annotations

import sys

from installation import threads
from installation.packages import missing_dependency, setup_hint


def main() -> int:
    """Entry point of the `latent-walk` console script (installation.cli does the work)."""
    threads.choose_policy()  # first: OpenMP reads its settings once, when torch loads it
    try:
        from installation.cli import main as cli_main

        return cli_main()
    except ModuleNotFoundError as err:  # the system Python, not the venv: say how to set up
        if missing_dependency(err) is None:
            raise
        print(f"error: {setup_hint(err, '.venv/bin/latent-walk')}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
