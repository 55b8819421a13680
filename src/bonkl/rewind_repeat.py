"""Rewind-and-repeat (Section 6): draw from ``pi`` until the reward reaches a threshold."""

from __future__ import annotations

import numpy as np
from scipy.special import digamma

from . import _validate
from ._docs import documented
from ._types import ArrayLike, FloatOrArray, NDArray


@documented("p q", "The masses of rewind-and-repeat.", "Lemma 6.1, eq. 40", kind="pmf")
def rr_pmf(p: ArrayLike, q: ArrayLike) -> NDArray[np.float64]:
    """Lemma 6.1 with a continuous threshold ``q`` in [0, 1) on the quantile (docs/MATH.md, Section 6).

    Accept when ``U = F^-(y) + V pi(y) >= q`` with ``V ~ Uniform(0, 1)``:
    ``pi_rr(y_i) = max(0, F_i - max(F_{i-1}, q)) / (1 - q)``; at ``q = F^-(y_j)`` it is eq. 40.

    Examples
    --------
    >>> import numpy as np
    >>> from bonkl import rr_pmf
    >>> print(np.round(rr_pmf([0.25, 0.25, 0.5], 0.25), 4))
    [0.     0.3333 0.6667]
    """
    p = _validate.pmf(p)
    q = _validate.unit_interval(q, "q", closed_right=False)[..., None]
    head = np.cumsum(p)  # F_i, accurate where it is below 1/2
    above = np.append(np.cumsum(p[::-1])[::-1][1:], 0.0)  # 1 - F_i, accurate near the top
    keep = 1.0 - q  # exact for q >= 1/2
    # mass of y_i above the threshold: F_i - q, capped at pi(y_i) (taken whole when q <= F^-_i)
    part = np.where(q < 0.5, head - q, keep - above)
    return np.minimum(np.maximum(part, 0.0), p) / keep


@documented("p_tau", "``log(1/p_tau)`` in nats.", "Lemma 6.2, eq. 41")
def rr_kl(p_tau: ArrayLike) -> FloatOrArray:
    """Lemma 6.2, eq. 41: ``KL(pi_rr || pi) = log(1/p_tau)``, exactly, for discrete models too.

    Examples
    --------
    >>> from bonkl import rr_kl
    >>> round(float(rr_kl(0.5)), 6)
    0.693147
    """
    return (-np.log(_validate.mass(p_tau, "p_tau")))[()]


@documented("p_tau", "``1 - p_tau/2``.", "Lemma 6.2, eq. 42")
def rr_win_rate(p_tau: ArrayLike) -> FloatOrArray:
    """Lemma 6.2, eq. 42: the win rate of rewind-and-repeat is ``1 - p_tau/2``.

    Examples
    --------
    >>> from bonkl import rr_win_rate
    >>> float(rr_win_rate(0.5))
    0.75
    """
    return (1.0 - _validate.mass(p_tau, "p_tau") / 2)[()]


@documented("k", "The harmonic number ``H_{k-1}``.", "Theorem 6.3, eq. 43")
def rr_kl_estimator(k: ArrayLike) -> FloatOrArray:
    """Theorem 6.3, eq. 43: ``H_{K-1}``, an unbiased estimator of ``log(1/p_tau)``.

    ``k`` is the number of draws until acceptance (integer ``>= 1``); ``H_0 = 0``.
    ``H_m = digamma(m + 1) + euler_gamma``.

    Examples
    --------
    >>> from bonkl import rr_kl_estimator
    >>> print(rr_kl_estimator([1, 2, 3]))
    [0.  1.  1.5]
    """
    k = np.asarray(k)
    if k.size and (not np.all(np.isfinite(k)) or np.any(k < 1) or np.any(k != np.floor(k))):
        raise ValueError(f"k must be an integer >= 1 (the number of draws), got {k!r}")
    return (digamma(k.astype(np.float64)) + np.euler_gamma)[()]
