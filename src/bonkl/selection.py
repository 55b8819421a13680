"""Inference-time selection rules beyond best-of-n: Best-of-Poisson and soft best-of-n, exactly.

Both act on a discrete reference with masses ``p`` in increasing reward order (as Lemma 2.3) and
return the selected outcome's PMF; ``docs/MATH.md`` ("Beyond the paper") has the derivations.

* Best-of-Poisson: best-of-``N`` with ``N - 1 ~ Poisson(mu)``. ``P(max <= y) = E[F^N] =
  F exp(mu (F - 1))``, so ``pi(y_i) = F_i e^(mu (F_i - 1)) - F_{i-1} e^(mu (F_{i-1} - 1))``.
* Soft best-of-n: draw ``n`` outcomes from ``pi`` and keep one with probability proportional to
  ``exp(r / lam)``. With ``rho_j = exp((r_j - r_i)/lam)`` and ``G_i(v) = sum_j p_j v^rho_j``,
  ``pi(y_i) = n p_i integral_0^1 G_i(v)^(n-1) dv``: one integral per outcome.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from . import _validate
from ._docs import documented
from ._logspace import cdf_logs, log1mexp, log_ratio_minus
from ._types import ArrayLike, NDArray

# Trapezoid step in x = log w (w = -log v) for soft best-of-n: the integrand is analytic in a strip
# around the real axis and decays at both ends, so the error falls like exp(-2 pi d / h).
_STEP = 0.1
# The window in x: up to w = 40 (beyond it e^-w < 1e-17 of the integral), down to 20 below the
# point where (n-1)(1 - G) reaches 1 (below it the integrand is e^x to 1e-9, and its trapezoid
# sum is added as a geometric series); nothing below e^-750 is representable anyway.
_W_MAX = 40.0
_BELOW_KNEE = 20.0
_X_FLOOR = -750.0
# A term p_j exp(-w rho_j) is 0 once w rho_j > e^7 and p_j (1 - w rho_j) once w rho_j < e^-40.
_GONE_ABOVE = 7.0
_LINEAR_BELOW = -40.0
# Scaled rewards spanning at most this share one grid (see _soft_bon_shared_grid).
_SHARED_SPAN = 100.0
_BLOCK = 256


@documented("p mu", "The masses of Best-of-Poisson.", "Lemma 2.3, averaged over ``N``", kind="pmf")
def bop_pmf(p: ArrayLike, mu: ArrayLike) -> NDArray[np.float64]:
    """Best-of-Poisson: best-of-``N`` with ``N - 1 ~ Poisson(mu)``, ``mu >= 0``.

    ``pi(y_i) = F_i e^(mu (F_i - 1)) - F_{i-1} e^(mu (F_{i-1} - 1))`` (``E[F^N] = F e^(mu (F - 1))``),
    evaluated in log space as ``log F_i - mu (1 - F_i) + log(1 - (F_{i-1}/F_i) e^(-mu p_i))``.
    ``mu = 0`` is the reference; ``E[N] = 1 + mu``. Shape ``np.shape(mu) + p.shape``.

    Examples
    --------
    >>> import numpy as np
    >>> from bonkl import bop_pmf
    >>> print(np.round(bop_pmf([0.5, 0.5], [0.0, 1.0]), 4))
    [[0.5    0.5   ]
     [0.3033 0.6967]]
    """
    p = _validate.pmf(p)
    mu = np.asarray(mu, dtype=np.float64)
    if not np.all(np.isfinite(mu) & (mu >= 0)):
        raise ValueError(f"mu must be a finite real number >= 0 (the Poisson mean of N - 1), got {mu!r}")
    log_f, log_f_minus = cdf_logs(p)
    above = np.append(np.cumsum(p[::-1])[::-1][1:], 0.0)  # 1 - F_i, exact near the top
    log_ratio = log_ratio_minus(p, log_f, log_f_minus)
    mu = mu[..., None]
    with np.errstate(divide="ignore"):
        log_pmf = log_f - mu * above + log1mexp(log_ratio - mu * p)
    return np.exp(log_pmf)


def _soft_bon_outcome(log_p, p, delta, n):
    """``integral_0^inf e^(-w) G(w)^(n-1) dw`` with ``G(w) = sum_j p_j exp(-w rho_j)``, ``log rho = delta``.

    Trapezoid rule in ``x = log w``. Terms whose ``w rho_j`` stays above ``e^7`` on the whole
    window are gone (``G`` loses ``p_j``); terms below ``e^-40`` are linear (``G`` loses
    ``p_j w rho_j``); only the others are evaluated point by point. ``1 - G`` is summed directly
    while it is below 1/2 (``log1p``), else ``log G`` by a log-sum-exp.
    """
    log_s = logsumexp(log_p + delta)  # log sum p rho: 1 - G = w S (1 + O(w rho))
    x_knee = -np.logaddexp(0.0, np.log(n - 1.0) + log_s)  # -log(1 + (n-1) S)
    x_lo = max(x_knee - _BELOW_KNEE, _X_FLOOR)
    x = x_lo + _STEP * np.arange(int(np.ceil((np.log(_W_MAX) - x_lo) / _STEP)) + 1)
    gone = delta > _GONE_ABOVE - x_lo
    linear = delta < _LINEAR_BELOW - x[-1]
    active = ~(gone | linear)
    with np.errstate(over="ignore"):
        scaled = np.exp(x[:, None] + delta[active][None, :])  # w rho_j
    lost = p[gone].sum() + np.sum(p[active] * -np.expm1(-scaled), axis=1)
    if linear.any():
        lost += np.exp(x + logsumexp(log_p[linear] + delta[linear]))
    log_g = np.log1p(-np.minimum(lost, 0.5))
    far = lost >= 0.5
    if far.any():
        kept = [log_p[active][None, :] - scaled[far]]
        if linear.any():
            kept.append(np.full((far.sum(), 1), np.log(p[linear].sum())))
        log_g[far] = logsumexp(np.concatenate(kept, axis=1), axis=1)
    log_f = x - np.exp(x) + (n - 1.0) * log_g
    # below x_lo the integrand is e^x: its trapezoid points sum to e^x_lo e^-h / (1 - e^-h)
    below = x_lo - _STEP - np.log(-np.expm1(-_STEP))
    return _STEP * np.exp(logsumexp(np.append(log_f, below)))


def _soft_bon_shared_grid(log_p, p, z, n):
    """All outcomes at once when the scaled rewards ``z = (r - r_max)/lam`` span at most
    :data:`_SHARED_SPAN`: ``G_i(x) = H(x - z_i)`` with ``H(y) = sum_j p_j exp(-e^(y + z_j))``, so ``H``
    is evaluated once on a grid of step ``h`` and outcome ``i`` integrates over the shifted points
    ``x = y + z_i`` (the same trapezoid rule and window as :func:`_soft_bon_outcome`)."""
    log_s = logsumexp(log_p + z) - z  # log sum_j p_j rho_ij, per outcome i
    x_lo = np.maximum(-np.logaddexp(0.0, np.log(n - 1.0) + log_s) - _BELOW_KNEE, _X_FLOOR)
    x_hi = np.log(_W_MAX)
    y = np.arange(np.min(x_lo - z), np.max(x_hi - z) + 2 * _STEP, _STEP)
    with np.errstate(over="ignore"):
        scaled = np.exp(y[:, None] + z[None, :])
    lost = np.sum(p * -np.expm1(-scaled), axis=1)
    log_h = np.log1p(-np.minimum(lost, 0.5))
    far = lost >= 0.5
    if far.any():
        log_h[far] = logsumexp(log_p[None, :] - scaled[far], axis=1)
    out = np.empty(z.size)
    for start in range(0, z.size, _BLOCK):  # (outcome, grid) arrays of at most _BLOCK rows
        rows = slice(start, start + _BLOCK)
        x = y[None, :] + z[rows, None]
        inside = (x >= x_lo[rows, None]) & (x <= x_hi + _STEP)
        log_f = np.where(inside, x - np.exp(np.minimum(x, x_hi + 1.0)) + (n - 1.0) * log_h[None, :], -np.inf)
        first = np.min(np.where(inside, x, np.inf), axis=1)
        below = first - _STEP - np.log(-np.expm1(-_STEP))
        out[rows] = _STEP * np.exp(logsumexp(np.concatenate([log_f, below[:, None]], axis=1), axis=1))
    return out


@documented("p reward n lam", "The masses of soft best-of-n.", "Lemma 2.3 (``lam -> 0``)", kind="pmf")
def soft_bon_pmf(p: ArrayLike, reward: ArrayLike, n: ArrayLike, lam: ArrayLike) -> NDArray[np.float64]:
    """Soft best-of-n: of ``n`` draws from ``pi``, keep draw ``j`` with probability ``∝ exp(r_j / lam)``.

    ``pi(y_i) = n p_i integral_0^1 (sum_j p_j v^(exp((r_j - r_i)/lam)))^(n-1) dv`` (from
    ``1/a = integral_0^inf e^(-t a) dt``; see ``docs/MATH.md`` ("Beyond the paper")), one trapezoid integral per
    outcome in the variable ``log(-log v)``, accurate to about 1e-13. ``reward`` strictly
    increasing (the order of ``p``), ``n >= 1`` real, ``lam > 0``: ``lam -> 0`` gives best-of-n
    (Lemma 2.3), ``lam -> inf`` the reference. ``n`` and ``lam`` broadcast; shape
    ``broadcast(n, lam).shape + p.shape``.

    Examples
    --------
    >>> import numpy as np
    >>> from bonkl import bon_pmf, soft_bon_pmf
    >>> bool(np.allclose(soft_bon_pmf([0.5, 0.5], [0.0, 1.0], 4, 1e-3), bon_pmf([0.5, 0.5], 4)))
    True
    """
    p = _validate.pmf(p)
    reward = np.asarray(reward, dtype=np.float64)
    if reward.shape != p.shape:
        raise ValueError(f"reward must have one value per mass of p ({p.size}), got shape {reward.shape}")
    if not np.all(np.isfinite(reward)) or np.any(np.diff(reward) <= 0):
        raise ValueError(
            f"reward must be finite and strictly increasing (the order of p), got {_validate._show(reward)}"
        )
    n = _validate.sample_size(n)
    lam = _validate.positive(lam, "lam")
    keep = np.flatnonzero(p > 0)
    log_p = np.log(p[keep])
    positive = p[keep]
    shape = np.broadcast_shapes(n.shape, lam.shape)
    out = np.zeros(shape + p.shape)
    for index in np.ndindex(shape):
        n_value = float(np.broadcast_to(n, shape)[index])
        lam_value = float(np.broadcast_to(lam, shape)[index])
        if n_value == 1.0:
            out[index] = p
            continue
        z = (reward[keep] - reward[keep][-1]) / lam_value
        if z[0] >= -_SHARED_SPAN:
            out[index + (keep,)] = n_value * positive * _soft_bon_shared_grid(log_p, positive, z, n_value)
            continue
        for outcome in keep:
            with np.errstate(over="ignore", invalid="ignore"):
                delta = (reward[keep] - reward[outcome]) / lam_value
            out[index + (outcome,)] = n_value * p[outcome] * _soft_bon_outcome(log_p, positive, delta, n_value)
    return out
