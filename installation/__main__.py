"""`python -m installation …` runs the `latent-walk` CLI."""

import sys

from installation.cli import main

sys.exit(main())
