"""KL estimators from one best-of-n draw's reference mass ``eps = pi(y)`` (Section 4).

Each is a function of ``eps`` in (0, 1] and real ``n >= 1``, broadcast against each other; an
expectation under ``pi_n`` is taken with :func:`bon_expectation`.
"""

from __future__ import annotations

import numpy as np

from . import _validate
from ._logspace import log1mexp, log_power_difference
from .bon import kl_bon, log_bon_pmf


def kl_estimator(eps, n):
    """Definition 4.3, eq. 25: the proposed estimator ``KLhat(eps)``, in nats.

    ``a = (1-eps)^n``; ``KLhat = a (log n - (n-1)/n + (n-1) log(1-eps)) + (1-a) log((1-a)/eps)``:
    the exact best-of-n KL of a model whose top outcome has mass ``eps`` over a continuum.
    ``0 <= KLhat <= KL_bon(n)`` (Lemma 4.5); ``KLhat(1) = 0``; ``KLhat -> KL_bon(n)`` as ``eps -> 0``.
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


def kl_alternate(eps, n):
    """Eq. 23: ``log((1 - (1-eps)^n) / eps)``, an upper bound on the KL in expectation.

    At most ``min(log n, log(1/eps))``; loose by about ``(n-1)/n`` when ``n eps << 1``.
    """
    eps = _validate.mass(eps)
    n = _validate.sample_size(n)
    with np.errstate(divide="ignore"):  # eps = 1: log1p(-1) = -inf, and the result is log(1/1) = 0
        log_keep = np.log1p(-eps)
    return (log1mexp(n * log_keep) - np.log(eps))[()]


def kl_log_ratio(eps, cdf, n):
    """Corollary 4.2: ``log((F^n - (F - eps)^n) / eps)`` for an outcome of mass ``eps`` and CDF ``F``.

    Its expectation under ``pi_n`` with the true ``F`` is the exact KL; it increases with ``F``,
    so any upper bound on ``F`` (``eps <= F <= 1``) gives an upper bound on the KL.
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


def bon_expectation(p, n, statistic):
    """``E_{y ~ pi_n}[statistic(pi(y), n)]`` for masses ``p`` in increasing reward order.

    ``statistic`` is one of the per-draw estimators above (eq. 23, eq. 25). Result shape
    ``np.shape(n)``.
    """
    p = _validate.pmf(p)
    n = _validate.sample_size(n)
    support = p > 0
    pin = np.exp(log_bon_pmf(p, n))[..., support]
    values = statistic(p[support], n[..., None])
    return np.sum(pin * values, axis=-1)[()]


def expected_kl_estimator(p, n):
    """``E_{y ~ pi_n}[KLhat(pi(y))]`` (eq. 25); Conjecture 4.4: it is at least ``KL(pi_n || pi)``."""
    return bon_expectation(p, n, kl_estimator)


def expected_kl_alternate(p, n):
    """``E_{y ~ pi_n}[log((1 - (1 - pi(y))^n) / pi(y))]`` (eq. 23)."""
    return bon_expectation(p, n, kl_alternate)

