"""The probability simplex of a three-outcome model, drawn with mpltern (Figure 7).

Corners: the most preferred outcome ``y3`` at the top, ``y1`` bottom left, ``y2`` bottom right,
so alignment moves a policy upwards. A point is a PMF ``(pi(y1), pi(y2), pi(y3))``, outcomes in
increasing reward order.
"""

from __future__ import annotations

import numpy as np


def simplex_axes(fig, position=111, labels=(r"$\pi(y_1)$", r"$\pi(y_2)$", r"$\pi(y_3)$")):
    """Add a ternary axes to ``fig``; ``labels`` name the masses from least to most preferred outcome."""
    import mpltern  # noqa: F401  (registers the "ternary" projection)

    ax = fig.add_subplot(position, projection="ternary")
    ax.set_tlabel(labels[2])
    ax.set_llabel(labels[0])
    ax.set_rlabel(labels[1])
    for axis in (ax.taxis, ax.laxis, ax.raxis):
        axis.set_label_position("corner")
        axis.set_label_rotation_mode("horizontal")
    ax.grid(True, color="0.88", linewidth=0.4)
    ax.tick_params(labelsize=6, length=2, labelrotation="horizontal")
    return ax


def _corners(pmf):
    pmf = np.asarray(pmf, dtype=np.float64).reshape(-1, 3)
    return pmf[:, 2], pmf[:, 0], pmf[:, 1]


def simplex_plot(ax, pmf, *args, **kwargs):
    """Draw PMFs (an ``(m, 3)`` array) as a path on ``ax``."""
    return ax.plot(*_corners(pmf), *args, **kwargs)


def simplex_scatter(ax, pmf, *args, **kwargs):
    """Mark PMFs (an ``(m, 3)`` array) as points on ``ax``."""
    return ax.scatter(*_corners(pmf), *args, **kwargs)
