"""``python -m bonkl``: the same as the ``bonkl`` command."""

import sys

from .cli import main

sys.exit(main())
