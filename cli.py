"""Run behavtrack's command-line interface from a source checkout: ``python cli.py --help``."""

import sys

from behavtrack.cli import main

if __name__ == "__main__":
    sys.exit(main())
