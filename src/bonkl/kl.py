"""KL divergence of best-of-n from the reference: exact (via Lemma 2.3), its gap to eq. 4, bounds."""

from __future__ import annotations

import numpy as np

from . import _validate
from ._docs import documented
from ._logspace import cdf_logs, log_power_difference, log_ratio_minus
from ._types import ArrayLike, FloatOrArray
from .bon import kl_bon, top_mass
from .estimators import kl_estimator

# exp(-750) underflows to 0 in float64: outcomes with n*log F below this carry no best-of-n mass.
_LOG_UNDERFLOW = -750.0


@documented("p n", "``KL(pi_n || pi)`` in nats, shape ``np.shape(n)``.", "Lemma 2.3, eq. 14; eq. 5")
def kl_exact(p: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """``KL(pi_n || pi)`` in nats, exactly, for masses ``p`` in increasing reward order.

    Evaluated in log space from Lemma 2.3; outcomes whose best-of-n mass underflows are skipped,
    so large ``n`` only touches the top of the distribution. ``n`` may be an array (one result
    per value).

    Examples
    --------
    >>> import numpy as np
    >>> from bonkl import example1_kl, kl_exact
    >>> bool(np.isclose(kl_exact([0.5, 0.5], 3), example1_kl(3)))
    True
    """
    p = _validate.pmf(p)
    n = _validate.sample_size(n)
    log_f, log_f_minus = cdf_logs(p)
    log_ratio = log_ratio_minus(p, log_f, log_f_minus)
    # Zero masses get log p = 0: their x is -inf, phi = 1, and they add p * phi = 0.
    log_p = np.log(np.where(p > 0, p, 1.0))
    out = np.empty(n.shape)
    for index, n_value in np.ndenumerate(n):
        # log_f is non-decreasing, so the outcomes that matter are a suffix; each skipped outcome
        # (pi_n = 0) contributes exactly its mass p to the sum below.
        start = np.searchsorted(log_f, _LOG_UNDERFLOW / n_value)
        skipped = p[:start].sum()  # pairwise: a running sum drifts by ~1e-10 over 10^7 terms
        out[index] = skipped + _bregman_sum(n_value, log_f[start:], log_ratio[start:], log_p[start:], p[start:])
    return out[()]


def _bregman_sum(n, log_f, log_ratio, log_p, p):
    """``sum p phi(x)`` with ``x = log(pi_n/p)`` and ``phi(x) = e^x (x - 1) + 1 >= 0``.

    Equal to ``sum pi_n log(pi_n/p)`` because both PMFs sum to 1, but every term is non-negative
    and ``phi`` is summed as a series near 0, so the KL keeps its relative precision as
    ``n -> 1`` (where the plain sum cancels). This is the hot loop: arithmetic is in place.
    """
    x = np.multiply(log_ratio, n)
    with np.errstate(divide="ignore"):
        np.expm1(x, out=x)
        np.negative(x, out=x)
        np.log(x, out=x)
    x += n * log_f
    x -= log_p  # log(pi_n / p)
    np.maximum(x, _LOG_UNDERFLOW, out=x)  # pi_n = 0 (x = -inf) becomes phi = 1, exactly
    phi = np.exp(x)
    phi *= x - 1.0
    phi += 1.0
    near = np.flatnonzero(np.abs(x) < 0.1)
    if near.size:
        xs = x[near]
        # sum_{k>=2} (k-1)/k! x^k to k = 12: the first term left out is below 1e-18 of the sum at |x| = 0.1
        tail = 1 / 840 + xs * (1 / 5760 + xs * (1 / 45360 + xs * (1 / 403200 + xs * (1 / 3991680 + xs / 43545600))))
        phi[near] = xs * xs * (1 / 2 + xs * (1 / 3 + xs * (1 / 8 + xs * (1 / 30 + xs * (1 / 144 + xs * tail)))))
    return float(np.dot(p, phi))


@documented("p n", "``gap_n`` in nats, non-negative.", "eq. 14, Theorem 3.1")
def kl_gap(p: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """Eq. 14: ``gap_n = KL_bon(n) - KL(pi_n || pi) >= 0`` (Theorem 3.1).

    Examples
    --------
    >>> from bonkl import kl_gap
    >>> round(float(kl_gap([0.5, 0.5], 8)), 6)
    0.536854
    """
    return kl_bon(n) - kl_exact(p, n)


@documented("u n", "``G(u)``.", "Lemma A.2")
def kl_bon_antiderivative(u: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """Lemma A.2: ``G(u) = u^n (log n - (n-1)/n + (n-1) log u)``, with ``G(0) = 0``, ``G(1) = KL_bon(n)``.

    Examples
    --------
    >>> import numpy as np
    >>> from bonkl import kl_bon, kl_bon_antiderivative
    >>> bool(np.isclose(kl_bon_antiderivative(1.0, 4), kl_bon(4)))
    True
    """
    u = _validate.unit_interval(u, "u")
    n = _validate.sample_size(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_u = np.log(u)
        value = np.exp(n * log_u) * (kl_bon(n) + (n - 1.0) * log_u)
    return np.where(u > 0, value, 0.0)[()]


@documented("a n", "``Delta_n(a, b) >= 0``, in nats.", "Lemma A.1")
def delta_kl(a: ArrayLike, b: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """Lemma A.1: ``Delta_n(a, b) = G(b) - G(a) - (b^n - a^n) log((b^n - a^n)/(b - a)) >= 0``.

    The contribution of one outcome occupying quantiles ``[a, b]`` to the gap of eq. 14.

    Examples
    --------
    >>> from bonkl import delta_kl
    >>> round(float(delta_kl(0.5, 1.0, 2)), 6)
    0.014048
    """
    a = _validate.unit_interval(a, "a")
    b = _validate.unit_interval(b, "b")
    n = _validate.sample_size(n)
    if np.any(a >= b):
        raise ValueError("a must be < b (an outcome occupies the quantiles [a, b])")
    with np.errstate(divide="ignore"):
        log_b = np.log(b)
        log_ratio = np.where(a > 0, np.log(a) - log_b, -np.inf)
    log_mass = log_power_difference(n, log_b, log_ratio)
    mass = np.exp(log_mass)
    kl_term = mass * (log_mass - np.log(b - a))
    return (kl_bon_antiderivative(b, n) - kl_bon_antiderivative(a, n) - kl_term)[()]


@documented("p n", "``Delta_n(1 - eps_inf, 1) <= gap_n``.", "Theorem 3.6")
def kl_gap_lower_bound(p: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """Theorem 3.6: ``gap_n >= Delta_n(1 - eps_inf, 1)``, the top outcome's term of eq. 14.

    ``eps_inf = pi(y_L)`` is the mass of the highest-reward outcome (eq. 20). Equals
    ``KL_bon(n) - KLhat(eps_inf)`` with ``KLhat`` the estimator of eq. 25.

    Examples
    --------
    >>> from bonkl import kl_gap, kl_gap_lower_bound
    >>> p = [0.2, 0.3, 0.5]
    >>> bool(kl_gap_lower_bound(p, 16) <= kl_gap(p, 16))
    True
    """
    return kl_bon(n) - kl_estimator(top_mass(p), n)


@documented("p n", "``KL_bon(n) + log(eps_inf)``.", "Corollary 3.7")
def kl_gap_limit(p: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """Corollary 3.7: ``gap_n >= KL_bon(n) - log(1/eps_inf) - o(1)``; returns ``KL_bon(n) + log(eps_inf)``.

    The gap grows without bound with ``n`` whenever ``eps_inf > 0``; the difference between the
    gap and this value tends to 0 as ``n -> infinity``.

    Examples
    --------
    >>> from bonkl import kl_gap, kl_gap_limit
    >>> p = [0.5, 0.5]
    >>> round(float(kl_gap(p, 1000) - kl_gap_limit(p, 1000)), 6)
    0.0
    """
    return kl_bon(n) + np.log(top_mass(p))
