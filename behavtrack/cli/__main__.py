"""``python -m behavtrack.cli``: the same as the ``behavtrack`` command."""

import sys

from behavtrack.cli import main

sys.exit(main())
