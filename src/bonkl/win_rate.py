"""Win rate against the reference (Section 5): calibrated reward, Lemmas 5.1-5.2, Theorems 5.3-5.6."""

from __future__ import annotations

import numpy as np

from . import _validate
from ._docs import documented
from ._types import ArrayLike, FloatOrArray, NDArray
from .bon import bon_pmf, top_mass


@documented("p", "``C(y_i)``, each outcome's win rate against ``pi``.", "eq. 30", kind="masses")
def calibrated_reward(p: ArrayLike) -> NDArray[np.float64]:
    """Eq. 30: ``C(y) = F^-(y) + pi(y)/2``, the win rate of outcome ``y`` against the reference.

    ``p`` holds the masses in increasing reward order. Near the top ``C`` is formed from the tail
    mass (``1 - (tail - pi/2)``) so that ``1 - C`` keeps its precision.

    Examples
    --------
    >>> from bonkl import calibrated_reward
    >>> print(calibrated_reward([0.5, 0.5]))
    [0.25 0.75]
    """
    p = _validate.pmf(p)
    below = np.concatenate(([0.0], np.cumsum(p)[:-1]))
    tail = np.cumsum(p[::-1])[::-1]
    return np.where(below < 0.5, below + p / 2, 1.0 - (tail - p / 2))


@documented("rho p", "The win rate of ``rho`` against ``pi``.", "Lemma 5.1, eq. 28")
def win_rate(rho: ArrayLike, p: ArrayLike) -> FloatOrArray:
    """Lemma 5.1: the win rate of a policy ``rho`` against ``pi`` is ``E_{y~rho}[C(y)]``.

    ``rho`` and ``p`` are masses on the same outcomes in increasing reward order; ties (the same
    outcome) count 1/2 (eq. 28), so ``win_rate(p, p) = 1/2``.

    Examples
    --------
    >>> from bonkl import win_rate
    >>> float(win_rate([0.0, 1.0], [0.5, 0.5]))
    0.75
    """
    rho = _validate.pmf(rho, "rho", batch=True)
    calibrated = calibrated_reward(p)
    if rho.shape[-1] != calibrated.shape[0]:
        raise ValueError(f"rho must have one mass per outcome of p ({calibrated.shape[0]}), got {rho.shape[-1]}")
    return np.sum(rho * calibrated, axis=-1)[()]


@documented("p n", "The win rate of best-of-n against ``pi``.", "Lemma 5.2")
def bon_win_rate(p: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """Lemma 5.2: ``sum_i (F_i^n - F_{i-1}^n)(F_i + F_{i-1})/2``, the win rate of best-of-n.

    Examples
    --------
    >>> from bonkl import bon_win_rate
    >>> float(bon_win_rate([0.5, 0.5], 2))
    0.625
    """
    return np.sum(bon_pmf(p, n) * calibrated_reward(p), axis=-1)[()]


@documented("n", "``n/(n+1)``.", "Theorem 5.3, eq. 32")
def win_rate_continuous(n: ArrayLike) -> FloatOrArray:
    """Theorem 5.3, eq. 32: ``n/(n+1)``, the win rate of best-of-n without ties; an upper bound.

    Examples
    --------
    >>> from bonkl import win_rate_continuous
    >>> float(win_rate_continuous(3))
    0.75
    """
    n = _validate.sample_size(n)
    return (n / (n + 1.0))[()]


@documented("p n", "``n/(n+1) - winrate(pi_n) >= 0``.", "Theorems 5.3-5.4")
def win_rate_gap(p: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """``n/(n+1) - winrate(pi_n)``: the gap of Theorem 5.3, a sum of non-negative per-outcome terms.

    Examples
    --------
    >>> from bonkl import win_rate_gap
    >>> round(float(win_rate_gap([0.5, 0.5], 2)), 6)
    0.041667
    """
    return win_rate_continuous(n) - bon_win_rate(p, n)


@documented("a n", "``delta_n(a, b) >= 0``.", "Theorem 5.4")
def delta_win_rate(a: ArrayLike, b: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """The per-outcome term of the win-rate gap for an outcome on quantiles ``[a, b]``.

    ``delta_n(a, b) = n/(n+1) (b^(n+1) - a^(n+1)) - (b^n - a^n)(a + b)/2 >= 0`` (Theorem 5.4).

    Examples
    --------
    >>> from bonkl import delta_win_rate
    >>> round(float(delta_win_rate(0.5, 1.0, 2)), 6)
    0.020833
    """
    a = _validate.unit_interval(a, "a")
    b = _validate.unit_interval(b, "b")
    n = _validate.sample_size(n)
    if np.any(a >= b):
        raise ValueError("a must be < b (an outcome occupies the quantiles [a, b])")
    return (n / (n + 1.0) * (b ** (n + 1) - a ** (n + 1)) - (b**n - a**n) * (a + b) / 2)[()]


@documented("p n", "``delta_n(1 - eps_inf, 1)``, at most the gap.", "Theorem 5.6")
def win_rate_gap_lower_bound(p: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """Theorem 5.6: the gap is at least the top outcome's term ``delta_n(1 - eps_inf, 1)``.

    With ``eps = eps_inf``: ``n/(n+1) (1 - (1-eps)^(n+1)) - (1 - (1-eps)^n)(1 - eps/2)``, evaluated
    with ``expm1``/``log1p``.

    Examples
    --------
    >>> from bonkl import win_rate_gap, win_rate_gap_lower_bound
    >>> p = [0.2, 0.3, 0.5]
    >>> bool(win_rate_gap_lower_bound(p, 16) <= win_rate_gap(p, 16))
    True
    """
    n = _validate.sample_size(n)
    eps = top_mass(p)
    with np.errstate(divide="ignore"):  # eps_inf = 1: log1p(-1) = -inf, both powers are 0
        log_keep = np.log1p(-eps)
    up_next = -np.expm1((n + 1.0) * log_keep)
    up_this = -np.expm1(n * log_keep)
    return (n / (n + 1.0) * up_next - up_this * (1.0 - eps / 2))[()]


@documented("p", "``eps_inf/2``, the gap as ``n -> infinity``.", "Corollary 5.7", kind="float")
def win_rate_gap_limit(p: ArrayLike) -> float:
    """Corollary 5.7: as ``n -> infinity`` the win rate tends to ``1 - eps_inf/2``: the gap to ``eps_inf/2``.

    Examples
    --------
    >>> from bonkl import win_rate_gap_limit
    >>> float(win_rate_gap_limit([0.5, 0.5]))
    0.25
    """
    return top_mass(p) / 2
