"""KL estimators from one best-of-n draw's reference mass ``eps = pi(y)`` (Section 4).

Each is a function of ``eps`` in (0, 1] and real ``n >= 1``, broadcast against each other; an
expectation under ``pi_n`` is taken with :func:`bon_expectation`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import _validate
from ._docs import documented
from ._logspace import log1mexp, log_power_difference
from ._types import ArrayLike, FloatOrArray
from .bon import kl_bon, log_bon_pmf


@documented("eps n", "``KLhat(eps)`` in nats, in ``[0, KL_bon(n)]``.", "Definition 4.3, eq. 25; Lemma 4.5")
def kl_estimator(eps: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """Definition 4.3, eq. 25: the proposed estimator ``KLhat(eps)``, in nats.

    ``a = (1-eps)^n``; ``KLhat = a (log n - (n-1)/n + (n-1) log(1-eps)) + (1-a) log((1-a)/eps)``:
    the exact best-of-n KL of a model whose top outcome has mass ``eps`` over a continuum.
    ``0 <= KLhat <= KL_bon(n)`` (Lemma 4.5); ``KLhat(1) = 0``; ``KLhat -> KL_bon(n)`` as ``eps -> 0``.

    Examples
    --------
    >>> from bonkl import kl_bon, kl_estimator
    >>> float(kl_estimator(1.0, 8))
    0.0
    >>> bool(kl_estimator(1e-9, 8) <= kl_bon(8))
    True
    """
    eps = _validate.mass(eps)
    n = _validate.sample_size(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_keep = np.log1p(-eps)  # log(1 - eps)
        log_a = n * log_keep
        a = np.exp(log_a)
        top = -np.expm1(log_a)  # 1 - a, exactly
        continuum = np.where(a > 0, a * (kl_bon(n) + (n - 1.0) * log_keep), 0.0)
    value = continuum + top * (np.log(top) - np.log(eps))
    return np.clip(value, 0.0, kl_bon(n))[()]  # Lemma 4.5; removes last-bit drift only


@documented("eps n", "``log((1 - (1-eps)^n)/eps)`` in nats.", "eq. 23")
def kl_alternate(eps: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """Eq. 23: ``log((1 - (1-eps)^n) / eps)``, an upper bound on the KL in expectation.

    At most ``min(log n, log(1/eps))``; loose by about ``(n-1)/n`` when ``n eps << 1``.

    Examples
    --------
    >>> from bonkl import kl_alternate
    >>> round(float(kl_alternate(0.5, 2)), 6)
    0.405465
    """
    eps = _validate.mass(eps)
    n = _validate.sample_size(n)
    with np.errstate(divide="ignore"):  # eps = 1: log1p(-1) = -inf, and the result is log(1/1) = 0
        log_keep = np.log1p(-eps)
    return (log1mexp(n * log_keep) - np.log(eps))[()]


@documented("eps cdf n", "``log(pi_n(y)/pi(y))``.", "Corollary 4.2")
def kl_log_ratio(eps: ArrayLike, cdf: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """Corollary 4.2: ``log((F^n - (F - eps)^n) / eps)`` for an outcome of mass ``eps`` and CDF ``F``.

    Its expectation under ``pi_n`` with the true ``F`` is the exact KL; it increases with ``F``,
    so any upper bound on ``F`` (``eps <= F <= 1``) gives an upper bound on the KL.

    Examples
    --------
    >>> import numpy as np
    >>> from bonkl import kl_log_ratio
    >>> round(float(kl_log_ratio(0.5, 1.0, 2)), 6)
    0.405465
    """
    eps = _validate.mass(eps)
    cdf = _validate.mass(cdf, "cdf")
    n = _validate.sample_size(n)
    if np.any(eps > cdf * (1 + 1e-12)):
        raise ValueError("cdf must be >= eps: the CDF at an outcome includes its own mass")
    log_f = np.log(cdf)
    with np.errstate(divide="ignore"):
        log_ratio = np.log1p(-np.minimum(eps / cdf, 1.0))
    return (log_power_difference(n, log_f, log_ratio) - np.log(eps))[()]


@documented("p n statistic", "The expectation under best-of-n.", "Section 4")
def bon_expectation(p: ArrayLike, n: ArrayLike, statistic: Callable) -> FloatOrArray:
    """``E_{y ~ pi_n}[statistic(pi(y), n)]`` for masses ``p`` in increasing reward order.

    ``statistic`` is one of the per-draw estimators above (eq. 23, eq. 25). Result shape
    ``np.shape(n)``.

    Examples
    --------
    >>> from bonkl import bon_expectation, kl_alternate
    >>> round(float(bon_expectation([0.5, 0.5], 2, kl_alternate)), 6)
    0.405465
    """
    p = _validate.pmf(p)
    n = _validate.sample_size(n)
    support = p > 0
    pin = np.exp(log_bon_pmf(p, n))[..., support]
    values = statistic(p[support], n[..., None])
    return np.sum(pin * values, axis=-1)[()]


@documented("p n", "``E_{pi_n}[KLhat(pi(y))]`` in nats.", "eq. 25, Conjecture 4.4")
def expected_kl_estimator(p: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """``E_{y ~ pi_n}[KLhat(pi(y))]`` (eq. 25); Conjecture 4.4: it is at least ``KL(pi_n || pi)``.

    Examples
    --------
    >>> from bonkl import expected_kl_estimator, kl_exact
    >>> p = [0.1, 0.2, 0.3, 0.4]
    >>> bool(expected_kl_estimator(p, 8) >= kl_exact(p, 8))
    True
    """
    return bon_expectation(p, n, kl_estimator)


@documented("p n", "The expectation of eq. 23 in nats.", "eq. 23")
def expected_kl_alternate(p: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """``E_{y ~ pi_n}[log((1 - (1 - pi(y))^n) / pi(y))]`` (eq. 23).

    Examples
    --------
    >>> from bonkl import expected_kl_alternate, kl_exact
    >>> p = [0.1, 0.2, 0.3, 0.4]
    >>> bool(expected_kl_alternate(p, 8) >= kl_exact(p, 8))
    True
    """
    return bon_expectation(p, n, kl_alternate)
