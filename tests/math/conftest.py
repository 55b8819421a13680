"""The mathematics suite: every formula of docs/MATH.md against an independent computation.

Shared references and strategies live in ``mpref.py`` beside this file; this directory is put on
``sys.path`` here so that ``import mpref`` works whatever pytest's import mode.
"""

import os
import sys
import warnings

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture(autouse=True)
def _runtime_warnings_are_errors():
    """Every numpy RuntimeWarning (overflow, divide, invalid) inside bonkl fails the test: the
    formulas must be evaluated without them for n up to 10^6 and masses down to 1e-300. Set here
    rather than by a filterwarnings mark so that it holds even with ``-p no:warnings``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield
