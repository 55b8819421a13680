"""Tilted mean (Appendix C.2, eq. 133): a smooth min (t < 0) or max (t > 0) of a random value."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ._docs import documented
from ._types import ArrayLike, FloatOrArray


@documented("x t weights", "The tilted mean, shape ``np.shape(t)``.", "Appendix C.2, eq. 133")
def tilted_mean(x: ArrayLike, t: ArrayLike, weights: ArrayLike | None = None) -> FloatOrArray:
    """Eq. 133: ``(1/t) log E[exp(t X)]`` for values ``x`` with probabilities ``weights``.

    ``t = 0`` gives the (weighted) mean, ``+inf`` the max and ``-inf`` the min over the values of
    positive weight. ``t`` may be an array (one result per tilt). Computed around the mean with a
    log-sum-exp, and through ``expm1``/``log1p`` for small ``|t|``, so no tilt loses precision.

    Examples
    --------
    >>> import numpy as np
    >>> from bonkl import tilted_mean
    >>> print(tilted_mean([0.0, 1.0], [-np.inf, 0.0, np.inf]))
    [0.  0.5 1. ]
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    w = np.full(x.shape, 1.0) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if x.shape != w.shape:
        raise ValueError(f"weights must have one entry per value ({x.size}), got {w.size}")
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError("x must be a non-empty array of finite values")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    t = np.asarray(t, dtype=np.float64)
    if np.any(np.isnan(t)):
        raise ValueError("t must not be NaN")
    out = np.empty(t.shape)
    for index, tilt in np.ndenumerate(t):
        out[index] = tilted_rows(x[None], w[None], float(tilt))[0]
    return out[()]


def tilted_rows(x: np.ndarray, w: np.ndarray, t: float, log_w: np.ndarray | None = None) -> np.ndarray:
    """Eq. 133 for each row of ``x`` with non-negative weights ``w`` (same shape ``(..., L)``, each
    row with positive total), at one tilt ``t``: :func:`tilted_mean`, many rows at once.

    ``log_w`` (the weights' logarithms, ``-inf`` for 0) keeps weights that underflow a double:
    they count where ``exp(t x)`` is large enough to make up for them."""
    # Weights below the smallest normal double carry nothing and overflow scipy's log-sum-exp.
    keep = w > np.finfo(np.float64).tiny * w.max(axis=-1, keepdims=True)
    w = np.where(keep, w, 0.0)
    w = w / w.sum(axis=-1, keepdims=True)
    every = x
    x = np.where(keep, x, 0.0)
    mean = np.sum(w * x, axis=-1)
    low = np.min(np.where(keep, x, np.inf), axis=-1)
    high = np.max(np.where(keep, x, -np.inf), axis=-1)
    if t == 0:
        return mean
    if np.isinf(t):
        return high if t > 0 else low
    scaled = np.where(keep, t * (x - mean[..., None]), 0.0)
    with np.errstate(divide="ignore"):
        if log_w is None:
            small = np.max(np.abs(scaled), axis=-1) < 0.5
            large = logsumexp(np.where(keep, scaled, -np.inf), b=w, axis=-1)
        else:  # every weight, the underflowing ones included, normalised like w
            total = logsumexp(log_w, axis=-1, keepdims=True)
            absent = np.isneginf(log_w)
            full = np.where(absent, -np.inf, log_w - total + t * (np.where(absent, 0.0, every) - mean[..., None]))
            large = logsumexp(full, axis=-1)
            low = np.min(np.where(absent, np.inf, every), axis=-1)
            high = np.max(np.where(absent, -np.inf, every), axis=-1)
            small = np.maximum(np.abs(t * (low - mean)), np.abs(t * (high - mean))) < 0.5
        log_moment = np.where(
            small,
            np.log1p(np.sum(w * np.expm1(np.where(small[..., None], scaled, 0.0)), axis=-1)),
            large,
        )
    # between the smallest and largest value, whatever the rounding of the log-sum-exp
    return np.clip(mean + log_moment / t, low, high)
