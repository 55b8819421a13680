"""Log-space building blocks shared by the formulas (docs/MATH.md, "Numerics").

Powers of CDF values are never formed directly: ``F^n - (F - p)^n`` is evaluated as
``F^n * (-expm1(n * log(F^-/F)))`` with both logarithms taken from whichever side of 1/2 is exact.
"""

from __future__ import annotations

import numpy as np


def cdf_logs(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(log F(y_i), log F^-(y_i))`` for masses ``p`` in increasing reward order (eq. 7-8).

    Near 1 the CDF is taken as ``1 - tail`` through ``log1p`` so that ``F^n`` stays exact for huge
    ``n``; near 0 it is the running sum itself.
    """
    head = np.cumsum(p)  # F(y_i)
    below = np.concatenate(([0.0], head[:-1]))  # F^-(y_i)
    tail = np.cumsum(p[::-1])[::-1]  # 1 - F^-(y_i)
    above = np.append(tail[1:], 0.0)  # 1 - F(y_i)
    with np.errstate(divide="ignore"):
        log_f = np.where(head < 0.5, np.log(head), np.log1p(-np.minimum(above, 1.0)))
        log_f_minus = np.where(below < 0.5, np.log(below), np.log1p(-np.minimum(tail, 1.0)))
    return log_f, log_f_minus


def log_ratio_minus(p: np.ndarray, log_f: np.ndarray, log_f_minus: np.ndarray) -> np.ndarray:
    """``log(F^-/F)``, through ``log1p(-p/F)`` when ``p`` is small against ``F``."""
    ratio = np.exp(np.log(np.where(p > 0, p, 1.0)) - log_f)
    with np.errstate(divide="ignore", invalid="ignore"):
        small = np.log1p(-np.minimum(ratio, 1.0))
        out = np.where(ratio < 0.5, small, log_f_minus - log_f)
    return np.where(p > 0, out, 0.0)


def log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x <= 0`` (Maechler's switch at ``-log 2``)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(x > -np.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def log_power_difference(n, log_f, log_ratio) -> np.ndarray:
    """``log(F^n - (F^-)^n)`` from ``log F`` and ``log(F^-/F)``; ``-inf`` where it vanishes."""
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return n * log_f + log1mexp(n * log_ratio)
