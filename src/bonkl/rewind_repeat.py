"""Rewind-and-repeat (Section 6): draw from ``pi`` until the reward reaches a threshold."""

from __future__ import annotations

import numpy as np
from scipy.special import digamma

from . import _validate


def rr_pmf(p, q):
    """Lemma 6.1 with a continuous threshold ``q`` in [0, 1) on the quantile (docs/MATH.md, Section 6).

    Accept when ``U = F^-(y) + V pi(y) >= q`` with ``V ~ Uniform(0, 1)``:
    ``pi_rr(y_i) = max(0, F_i - max(F_{i-1}, q)) / (1 - q)``; at ``q = F^-(y_j)`` it is eq. 40.
    """
    p = _validate.pmf(p)
    q = _validate.unit_interval(q, "q", closed_right=False)[..., None]
    head = np.cumsum(p)  # F_i, accurate where it is below 1/2
    above = np.append(np.cumsum(p[::-1])[::-1][1:], 0.0)  # 1 - F_i, accurate near the top
    keep = 1.0 - q  # exact for q >= 1/2
    # mass of y_i above the threshold: F_i - q, capped at pi(y_i) (taken whole when q <= F^-_i)
    part = np.where(q < 0.5, head - q, keep - above)
    return np.minimum(np.maximum(part, 0.0), p) / keep


def rr_kl(p_tau):
    """Lemma 6.2, eq. 41: ``KL(pi_rr || pi) = log(1/p_tau)``, exactly, for discrete models too."""
    return (-np.log(_validate.mass(p_tau, "p_tau")))[()]


def rr_win_rate(p_tau):
    """Lemma 6.2, eq. 42: the win rate of rewind-and-repeat is ``1 - p_tau/2``."""
    return (1.0 - _validate.mass(p_tau, "p_tau") / 2)[()]


def rr_kl_estimator(k):
    """Theorem 6.3, eq. 43: ``H_{K-1}``, an unbiased estimator of ``log(1/p_tau)``.

    ``k`` is the number of draws until acceptance (integer ``>= 1``); ``H_0 = 0``.
    ``H_m = digamma(m + 1) + euler_gamma``.
    """
    k = np.asarray(k)
    if k.size and (not np.all(np.isfinite(k)) or np.any(k < 1) or np.any(k != np.floor(k))):
        raise ValueError(f"k must be an integer >= 1 (the number of draws), got {k!r}")
    return (digamma(k.astype(np.float64)) + np.euler_gamma)[()]
