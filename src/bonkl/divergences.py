"""Divergences from the reference: the KL of any policy; for best-of-n also Renyi, chi-square, total variation.

Exact values come from Lemma 2.3 through the likelihood ratio ``w_i = pi_n(y_i)/pi(y_i)``, taken
in log space (``x_i = log w_i``). The bounds are those of Mroueh (2024, "Information theoretic
guarantees for policy alignment in large language models"): the winner's quantile has density
``n u^(n-1)`` on [0, 1] when the reward is continuous, a discrete outcome is a function of that
quantile, so by data processing ``D_f(pi_n || pi) <= integral_0^1 f(n u^(n-1)) du``, with equality
for a continuous reward. ``docs/MATH.md`` ("Beyond the paper") has the derivations.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp, rel_entr

from . import _validate
from ._docs import MROUEH, documented
from ._types import ArrayLike, FloatOrArray
from .bon import kl_bon, log_bon_pmf

# Terms of the series of g_alpha(x) near x = 0 (used where max(alpha, 1) |x| < _SERIES_BELOW).
_SERIES_TERMS = 24
_SERIES_BELOW = 0.5
# Below this max(alpha, 1) (n - 1), the Renyi bound is summed as a series in n - 1.
_BOUND_SERIES_BELOW = 1e-3


@documented("rho p", "``KL(rho || p)``; ``inf`` where ``p = 0 < rho``.", "eq. 2, Section 6")
def kl_divergence(rho: ArrayLike, p: ArrayLike) -> FloatOrArray:
    """``KL(rho || p) = sum_y rho(y) log(rho(y)/p(y))`` in nats, with ``0 log 0 = 0``.

    The KL of any policy ``rho`` over the reference's outcomes (best-of-n, rewind-and-repeat,
    ``pi_beta``, the selection rules), along the last axis.

    Examples
    --------
    >>> import numpy as np
    >>> from bonkl import kl_divergence
    >>> float(kl_divergence([1.0, 0.0], [0.5, 0.5])) == float(np.log(2))
    True
    """
    rho = np.asarray(rho, dtype=np.float64)
    p = _validate.pmf(p)
    return np.sum(rel_entr(rho, p), axis=-1)[()]


#: The largest finite order ``bonkl estimate --divergences`` takes: the pool estimate's tilted mean at
#: ``alpha - 1`` overflows near 1e308, and above 1e6 ``D_alpha`` equals ``D_inf`` to about six digits.
MAX_ORDER = 1e6


def renyi_order(alpha, name: str = "alpha") -> float:
    """A Renyi order: a real number ``> 0`` or ``inf``."""
    value = float(np.asarray(alpha, dtype=np.float64))
    if not (value > 0):  # NaN fails too
        raise ValueError(f"{name} must be a real number > 0 or inf, got {alpha!r}")
    return value


def _scaled_coefficients(alpha: float, k_max: int) -> tuple[np.ndarray, float]:
    """``(c_k / s^k for k = 2..k_max, s)`` with ``c_k = alpha (alpha^(k-1) - 1)/(alpha - 1)
    = alpha sum_{j<k-1} alpha^j`` and ``s = max(alpha, 1)``: bounded, so huge orders never overflow."""
    scale = max(alpha, 1.0)
    k = np.arange(2, k_max + 1)
    j = np.arange(k_max - 1)
    log_alpha, log_scale = np.log(alpha), np.log(scale)
    # c_k / s^k = sum_{j=0}^{k-2} alpha^(j+1) / s^k, every power taken in log space
    powers = np.exp((j[None, :] + 1.0) * log_alpha - k[:, None] * log_scale)
    return np.sum(np.where(j[None, :] <= k[:, None] - 2, powers, 0.0), axis=1), scale


def renyi_terms(x, alpha: float) -> np.ndarray:
    """``g_alpha(x) = (e^(alpha x) - 1 - alpha (e^x - 1)) / (alpha - 1) >= 0`` (``x e^x - e^x + 1`` at 1).

    ``sum_i pi_i g_alpha(x_i) = (sum_i pi_i w_i^alpha - 1)/(alpha - 1)`` when ``sum pi_i w_i = 1``,
    a sum of non-negative terms. Evaluated as ``e^x expm1((alpha-1) x)/(alpha-1) - expm1(x)`` (the
    first product as ``e^(alpha x) (-expm1(-(alpha-1) x))`` where that exponent is smaller), and
    near ``x = 0`` (where that cancels) as ``sum_{k>=2} c_k x^k/k!``. ``x = -inf`` gives 1.
    """
    x = np.asarray(x, dtype=np.float64)
    delta = alpha - 1.0
    safe = np.where(np.isfinite(x), x, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        if delta == 0.0:
            direct = safe * np.exp(safe) - np.expm1(safe)
        else:
            # e^x expm1(delta x) = e^(alpha x) (-expm1(-delta x)): take the form whose exp is smaller
            up = delta * safe > 0
            scale = np.where(up, np.exp(alpha * safe), np.exp(safe))
            growth = np.where(up, -np.expm1(-delta * safe), np.expm1(delta * safe))
            direct = scale * (growth / delta) - np.expm1(safe)
    coefficients, scale = _scaled_coefficients(alpha, _SERIES_TERMS + 1)
    near = np.abs(safe) * scale < _SERIES_BELOW
    if np.any(near):
        weights = coefficients / np.exp(np.cumsum(np.log(np.arange(1.0, _SERIES_TERMS + 2)))[1:])  # / k!
        ys = safe[near] * scale
        series = np.zeros_like(ys)
        for weight in weights[::-1]:  # Horner in y = s x, then times y^2
            series = series * ys + weight
        direct[near] = series * ys * ys
    return np.where(x == -np.inf, 1.0, direct)


def renyi_from_log_ratio(p, x, alpha: float) -> np.ndarray:
    """``D_alpha(rho || pi) = log(sum_i pi_i w_i^alpha)/(alpha - 1)`` from ``x = log(rho/pi)`` (last axis).

    ``p`` holds the reference masses (all positive), ``x`` the log likelihood ratios (``-inf`` where
    ``rho`` vanishes). ``alpha = 1`` is the KL, ``alpha = inf`` the log of the largest ratio. Far
    from 0 the log-sum-exp is used; near 0 the value is ``log1p((alpha - 1) T)/(alpha - 1)`` with
    ``T = sum pi_i g_alpha(x_i)`` (:func:`renyi_terms`), so no digits cancel as ``alpha -> 1`` or
    ``rho -> pi``.
    """
    if alpha == np.inf:
        return np.max(x, axis=-1)
    log_p = np.log(p)
    with np.errstate(over="ignore"):
        total = np.sum(p * renyi_terms(x, alpha), axis=-1)
    delta = alpha - 1.0
    if delta == 0.0:
        return total
    with np.errstate(divide="ignore"):
        log_sum = logsumexp(log_p + alpha * x, axis=-1)  # log sum pi w^alpha
    with np.errstate(over="ignore", invalid="ignore"):
        near = np.log1p(delta * total) / delta
    return np.where(np.abs(log_sum) > 0.5, log_sum / delta, near)


def bon_log_ratio(p, n):
    """``(p, x)``: the positive masses and ``x = log(pi_n/pi)`` (Lemma 2.3), shape ``np.shape(n) + (outcomes,)``."""
    p = _validate.pmf(p)
    n = _validate.sample_size(n)
    log_pin = log_bon_pmf(p, n)  # zero masses have pi_n = 0 and drop out of every divergence
    keep = p > 0
    return p[keep], log_pin[..., keep] - np.log(p[keep])


def chi2_from_log_ratio(p, x):
    """``chi^2(rho || pi) = sum pi (w - 1)^2``, summed as ``sum pi expm1(x)^2`` in log space."""
    with np.errstate(divide="ignore"):
        log_terms = np.log(p) + 2.0 * np.log(np.abs(np.expm1(x)))
        return np.exp(logsumexp(log_terms, axis=-1))


def tv_from_log_ratio(p, x):
    """``TV(rho, pi) = sum pi max(w - 1, 0)``: the outcomes ``rho`` favours, non-negative terms."""
    with np.errstate(over="ignore"):
        return np.sum(p * np.expm1(np.maximum(x, 0.0)), axis=-1)


@documented("p n alpha", "``D_alpha(pi_n || pi)`` in nats.", "Lemma 2.3")
def renyi_divergence_bon(p: ArrayLike, n: ArrayLike, alpha: float) -> FloatOrArray:
    """``D_alpha(pi_n || pi) = log(sum_y pi(y) (pi_n(y)/pi(y))^alpha)/(alpha - 1)``, exact (Lemma 2.3).

    ``p``: reference masses in increasing reward order; ``n`` real ``>= 1`` (scalar or array);
    ``alpha > 0`` or ``inf``. ``alpha -> 1`` is :func:`bonkl.kl_exact`, ``alpha = inf`` is
    ``log max pi_n/pi = log((1 - (1 - eps_inf)^n)/eps_inf)``. At most :func:`renyi_bound` (Mroueh 2024).

    Examples
    --------
    >>> import numpy as np
    >>> from bonkl import kl_exact, renyi_divergence_bon
    >>> bool(np.isclose(renyi_divergence_bon([0.5, 0.5], 4, 1.0), kl_exact([0.5, 0.5], 4)))
    True
    """
    alpha = renyi_order(alpha)
    return renyi_from_log_ratio(*bon_log_ratio(p, n), alpha)[()]


@documented("p n", "``chi^2(pi_n || pi)``.", "Lemma 2.3")
def chi2_divergence_bon(p: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """``chi^2(pi_n || pi) = sum_y pi(y) (pi_n(y)/pi(y) - 1)^2 = exp(D_2) - 1``, exact (Lemma 2.3).

    At most :func:`chi2_bound`.

    Examples
    --------
    >>> from bonkl import chi2_divergence_bon
    >>> round(float(chi2_divergence_bon([0.5, 0.5], 2)), 6)
    0.25
    """
    return chi2_from_log_ratio(*bon_log_ratio(p, n))[()]


@documented("p n", "``TV(pi_n, pi)``.", "Lemma 2.3")
def tv_distance_bon(p: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """``TV(pi_n, pi) = sum_y max(pi_n(y) - pi(y), 0) = (1/2) sum |pi_n - pi|``, exact (Lemma 2.3).

    At most :func:`tv_bound`.

    Examples
    --------
    >>> from bonkl import tv_distance_bon
    >>> round(float(tv_distance_bon([0.5, 0.5], 2)), 6)
    0.25
    """
    return tv_from_log_ratio(*bon_log_ratio(p, n))[()]


@documented("n alpha", "The bound in nats, attained by a continuous reward.", "the f-divergence bounds", source=MROUEH)
def renyi_bound(n: ArrayLike, alpha: float) -> FloatOrArray:
    """Mroueh (2024): ``D_alpha(pi_n || pi) <= log(n^alpha / (alpha (n-1) + 1)) / (alpha - 1)``.

    ``integral_0^1 (n u^(n-1))^alpha du = n^alpha/(alpha (n-1) + 1)``; attained for a continuous
    reward. Evaluated as ``log n - log1p((alpha-1)(n-1)/n)/(alpha-1)``: ``alpha = 1`` gives eq. 4,
    ``alpha = inf`` gives ``log n``; near ``n = 1`` as ``sum_{k>=2} (-1)^k c_k (n-1)^k / k``.

    Examples
    --------
    >>> from bonkl import renyi_bound, renyi_divergence_bon
    >>> bool(renyi_divergence_bon([0.2, 0.3, 0.5], 8, 2.0) <= renyi_bound(8, 2.0))
    True
    """
    alpha = renyi_order(alpha)
    n = _validate.sample_size(n)
    if alpha == np.inf:
        return np.log(n)[()]
    if alpha == 1.0:
        return np.asarray(kl_bon(n))[()]
    d = n - 1.0
    delta = alpha - 1.0
    direct = np.log1p(d) - np.log1p(delta * d / n) / delta
    coefficients, scale = _scaled_coefficients(alpha, 9)
    y = scale * d
    series = sum(c * (-1.0) ** k / k * y**k for c, k in zip(coefficients, range(2, 10), strict=True))
    return np.where(y < _BOUND_SERIES_BELOW, series, direct)[()]


@documented("n", "``(n-1)^2/(2n-1)``.", "the f-divergence bounds", source=MROUEH)
def chi2_bound(n: ArrayLike) -> FloatOrArray:
    """Mroueh (2024): ``chi^2(pi_n || pi) <= integral_0^1 (n u^(n-1))^2 du - 1 = (n-1)^2/(2n-1)``.

    Examples
    --------
    >>> from bonkl import chi2_bound
    >>> float(chi2_bound(2))
    0.3333333333333333
    """
    n = _validate.sample_size(n)
    return ((n - 1.0) ** 2 / (2.0 * n - 1.0))[()]


@documented("n", "``(1 - 1/n) n^(-1/(n-1))``.", "the f-divergence bounds", source=MROUEH)
def tv_bound(n: ArrayLike) -> FloatOrArray:
    """Mroueh (2024): ``TV(pi_n, pi) <= (1 - 1/n) n^(-1/(n-1))``.

    ``n u^(n-1) = 1`` at ``u* = n^(-1/(n-1))``; ``integral_{u*}^1 (n u^(n-1) - 1) du = u* - u*^n
    = (1 - 1/n) u*``. ``u* -> 1/e`` as ``n -> 1`` (where the bound vanishes) and ``-> 1`` as ``n -> inf``.

    Examples
    --------
    >>> from bonkl import tv_bound
    >>> float(tv_bound(2))
    0.25
    """
    n = _validate.sample_size(n)
    d = n - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        exponent = np.where(d > 0, np.log1p(d) / np.where(d > 0, d, 1.0), 1.0)  # log n/(n-1) -> 1
    return (d / n * np.exp(-exponent))[()]
