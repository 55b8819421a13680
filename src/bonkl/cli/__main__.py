"""``python -m bonkl.cli``: the same as the ``bonkl`` command."""

import sys

from . import main

sys.exit(main())
