"""Closed forms of the paper's worked examples (Example 1, eq. 5; Example 3, Section 7)."""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from . import _validate
from ._docs import documented
from ._types import ArrayLike, FloatOrArray
from .bon import kl_bon
from .rewind_repeat import rr_kl, rr_win_rate
from .win_rate import win_rate_continuous

# Below this lambda the optimal-policy closed forms are summed as series (they cancel otherwise).
_LAMBDA_SERIES_BELOW = 1e-2


@documented("n", "The exact KL in nats.", "Example 1, eq. 5")
def example1_kl(n: ArrayLike) -> FloatOrArray:
    """Example 1, eq. 5: two equiprobable outcomes, ``KL(pi_n || pi) = log 2 - h(2^-n)`` (nats).

    ``h`` is the binary entropy; the KL is bounded by ``log 2`` for every ``n``.

    Examples
    --------
    >>> from bonkl import example1_kl
    >>> round(float(example1_kl(1)), 6)
    0.0
    >>> round(float(example1_kl(50)), 6)
    0.693147
    """
    n = _validate.sample_size(n)
    x = np.exp2(-n)
    entropy = -xlogy(x, x) - (1 - x) * np.log1p(-x)
    return (np.log(2.0) - entropy)[()]


@documented("n", "``3/4 - 2^-n/2``.", "Example 1, Lemma 5.2")
def example1_win_rate(n: ArrayLike) -> FloatOrArray:
    """Example 1: win rate of best-of-n, ``2^-n/4 + (1 - 2^-n) 3/4 = 3/4 - 2^-n/2`` (Lemma 5.2).

    Examples
    --------
    >>> from bonkl import example1_win_rate
    >>> float(example1_win_rate(1))
    0.5
    """
    n = _validate.sample_size(n)
    return (0.75 - np.exp2(-n) / 2)[()]


@documented("n", "``(KL, win rate)``.", "Example 3 (Section 7)", kind="pair")
def example3_bon(n: ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
    """Example 3, best-of-n over a continuum: ``(KL, win rate) = (log n - (n-1)/n, n/(n+1))``.

    Examples
    --------
    >>> from bonkl import example3_bon
    >>> kl, win = example3_bon(1)
    >>> float(kl), float(win)
    (0.0, 0.5)
    """
    return kl_bon(n), win_rate_continuous(n)


@documented("p_tau", "``(KL, win rate)``.", "Example 3 (Section 7), Lemma 6.2", kind="pair")
def example3_rr(p_tau: ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
    """Example 3, rewind-and-repeat with acceptance mass ``p_tau``: ``(log(1/p_tau), 1 - p_tau/2)``.

    Examples
    --------
    >>> from bonkl import example3_rr
    >>> kl, win = example3_rr(0.5)
    >>> round(float(kl), 6), float(win)
    (0.693147, 0.75)
    """
    return rr_kl(p_tau), rr_win_rate(p_tau)


@documented("beta", "``(KL, win rate)`` of ``pi_beta``.", "Example 3 (Section 7)", kind="pair")
def example3_optimal(beta: ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
    """Example 3, the optimal policy ``pi_beta``: density ``lam e^(lam u)/(e^lam - 1)``, ``lam = 1/beta``.

    Win rate ``1/(1 - e^-lam) - 1/lam``; KL ``log(lam/(e^lam - 1)) + lam * winrate``. Rewritten as
    ``lam/expm1(lam) - 1 + log(lam) - log(1 - e^-lam)`` (no overflow), and as series for small ``lam``.

    Examples
    --------
    >>> from bonkl import example3_optimal
    >>> kl, win = example3_optimal(1e6)
    >>> round(float(win), 6)
    0.5
    """
    lam = 1.0 / _validate.positive(beta, "beta")
    small = lam < _LAMBDA_SERIES_BELOW
    safe = np.where(small, 1.0, lam)
    with np.errstate(over="ignore"):
        win = 1.0 / -np.expm1(-safe) - 1.0 / safe
        kl = safe / np.expm1(safe) - 1.0 + np.log(safe) - np.log(-np.expm1(-safe))
    lam = np.where(small, lam, 0.0)  # the series only where it is used (lam**6 overflows otherwise)
    win_series = 0.5 + lam / 12 - lam**3 / 720 + lam**5 / 30240
    kl_series = lam**2 / 24 - lam**4 / 960 + lam**6 / 24192
    return np.where(small, kl_series, kl)[()], np.where(small, win_series, win)[()]
