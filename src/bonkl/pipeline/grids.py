"""Grids of n for the figures."""

from __future__ import annotations

import numpy as np


def integer_n_grid(n_max: float, num: int, powers_of_two: bool = False) -> np.ndarray:
    """Distinct integers from 1 to ``n_max``, log-spaced (``num`` points before rounding merges
    the small ones), optionally with every power of two added."""
    grid = np.rint(np.geomspace(1, n_max, num))
    if powers_of_two:
        grid = np.concatenate([grid, 2.0 ** np.arange(int(np.log2(n_max)) + 1)])
    return np.unique(grid)
