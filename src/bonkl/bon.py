"""The best-of-n policy: its PMF (Lemma 2.3) and the formula from the literature (eq. 4)."""

from __future__ import annotations

import numpy as np

from . import _validate
from ._docs import documented
from ._logspace import cdf_logs, log_power_difference, log_ratio_minus
from ._types import ArrayLike, FloatOrArray, NDArray

# Below this distance from n = 1, eq. 4 is summed as a series to avoid cancelling log(n) and (n-1)/n.
_SERIES_BELOW = 1e-3


@documented("n", "``log(n) - (n-1)/n``, shape ``np.shape(n)``.", "eq. 4; Theorem 3.1")
def kl_bon(n: ArrayLike) -> FloatOrArray:
    """Eq. 4: ``KL_bon(n) = log(n) - (n-1)/n`` in nats.

    The exact KL of best-of-n for a continuous reward distribution; an upper bound on the
    KL of any discrete model (Theorem 3.1). ``n`` is real, ``>= 1``.

    Examples
    --------
    >>> from bonkl import kl_bon
    >>> round(float(kl_bon(2)), 6)
    0.193147
    """
    n = _validate.sample_size(n)
    d = n - 1.0
    direct = np.log1p(d) - d / n
    # log1p(d) - d/(1+d) = sum_{k>=2} (-1)^k (k-1)/k d^k
    series = sum((-1) ** k * (k - 1) / k * d**k for k in range(2, 8))
    return np.where(d < _SERIES_BELOW, series, direct)[()]


@documented("p", "``pi(y_L)``, ``y_L`` the top outcome of positive mass.", "eq. 20", kind="float")
def top_mass(p: ArrayLike) -> float:
    """``eps_inf`` (eq. 20): the mass of the highest-reward outcome that has positive mass.

    Examples
    --------
    >>> from bonkl import top_mass
    >>> top_mass([0.5, 0.3, 0.2, 0.0])
    0.2
    """
    p = _validate.pmf(p)
    return float(p[np.flatnonzero(p)[-1]])


@documented("p n", "``log pi_n(y_i)``, ``-inf`` where the mass is zero.", "Lemma 2.3", kind="pmf")
def log_bon_pmf(p: ArrayLike, n: ArrayLike) -> NDArray[np.float64]:
    """``log pi_n(y_i)`` for masses ``p`` in increasing reward order (Lemma 2.3, in log space).

    Shape ``np.shape(n) + p.shape``; ``-inf`` where the mass is zero.

    Examples
    --------
    >>> import numpy as np
    >>> from bonkl import log_bon_pmf
    >>> print(np.round(np.exp(log_bon_pmf([0.5, 0.5], 2)), 4))
    [0.25 0.75]
    """
    p = _validate.pmf(p)
    n = _validate.sample_size(n)
    log_f, log_f_minus = cdf_logs(p)
    log_ratio = log_ratio_minus(p, log_f, log_f_minus)
    return log_power_difference(n[..., None], log_f, log_ratio)


@documented("p n", "The best-of-n masses ``pi_n(y_i)``.", "Lemma 2.3", kind="pmf")
def bon_pmf(p: ArrayLike, n: ArrayLike) -> NDArray[np.float64]:
    """Lemma 2.3: ``pi_n(y) = F(y)^n - F^-(y)^n``, for real ``n >= 1``.

    ``p`` holds the reference masses in increasing reward order; the result has shape
    ``np.shape(n) + p.shape`` and sums to 1 along the last axis.

    Examples
    --------
    >>> from bonkl import bon_pmf
    >>> print(bon_pmf([0.5, 0.5], [1, 2]))
    [[0.5  0.5 ]
     [0.25 0.75]]
    """
    return np.exp(log_bon_pmf(p, n))
