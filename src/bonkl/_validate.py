"""Input checks at the package boundary: one clear ``ValueError`` naming the argument, value and rule."""

from __future__ import annotations

import numpy as np

PMF_TOLERANCE = 1e-9


def _show(value) -> str:
    text = np.array2string(np.asarray(value), threshold=6, precision=6)
    return text if len(text) < 120 else text[:117] + "..."


def pmf(p, name: str = "p", *, batch: bool = False) -> np.ndarray:
    """A 1-D, finite, non-negative mass vector summing to 1 within 1e-9, renormalised to sum 1.

    With ``batch`` the array may have leading axes: each row along the last axis is a PMF.
    """
    arr = np.asarray(p, dtype=np.float64)
    if (arr.ndim != 1 and not (batch and arr.ndim > 1)) or arr.size == 0:
        shape = "an array whose last axis holds masses" if batch else "a non-empty 1-D array of masses"
        raise ValueError(f"{name} must be {shape}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {_show(arr)}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative, got minimum {arr.min()!r}")
    total = arr.sum(axis=-1, keepdims=True)
    worst = np.max(np.abs(total - 1.0))
    if worst > PMF_TOLERANCE:
        bad = total.ravel()[np.argmax(np.abs(total - 1.0).ravel())]
        raise ValueError(f"{name} must sum to 1 within {PMF_TOLERANCE:g}, got sum {bad!r}")
    return arr / total


def sample_size(n, name: str = "n") -> np.ndarray:
    """A real sample size ``n >= 1`` (scalar or array)."""
    arr = np.asarray(n, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 1):
        raise ValueError(f"{name} must be a finite real number >= 1, got {_show(arr)}")
    return arr


def subset_sizes(n, pool_size: int | None = None, *, largest: int | None = None, what="best-of-n", name="n"):
    """Sample sizes for the unbiased estimate, which averages over the ``n``-subsets of a pool: whole
    numbers >= 1 and, given the pool's size, at most ``largest`` (default the pool size). The one
    home of this rule: the CLI, the workflow's config check and the library all call it. int64 array.
    """
    arr = np.atleast_1d(np.asarray(n, dtype=np.float64))
    bad = ~(np.isfinite(arr) & (arr >= 1) & (arr == np.round(arr)))
    if bad.any():
        shown = ", ".join(f"{value:g}" for value in arr[bad])
        raise ValueError(
            f"{name} has {shown}: the unbiased estimate averages over n-subsets of the pool, so n must be "
            "whole numbers >= 1; use whole numbers, or method 'plugin' for real n"
        )
    if pool_size is not None:
        largest = pool_size if largest is None else largest
        if np.any(arr > largest):
            raise ValueError(
                f"{name} has {arr.max():.0f}, larger than the pool allows for {what} (at most {largest} with "
                f"{pool_size} draws): draw more samples, or use method 'plugin', which describes the pool "
                "rather than the model past that"
            )
    return arr.astype(np.int64)


def mass(eps, name: str = "eps") -> np.ndarray:
    """A probability mass in (0, 1]."""
    arr = np.asarray(eps, dtype=np.float64)
    if not np.all((arr > 0) & (arr <= 1)):
        raise ValueError(f"{name} must lie in (0, 1], got {_show(arr)}")
    return arr


def unit_interval(x, name: str, *, closed_right: bool = True) -> np.ndarray:
    """A value in [0, 1] (or [0, 1) when ``closed_right`` is False)."""
    arr = np.asarray(x, dtype=np.float64)
    upper_ok = arr <= 1 if closed_right else arr < 1
    if not np.all((arr >= 0) & upper_ok):
        interval = "[0, 1]" if closed_right else "[0, 1)"
        raise ValueError(f"{name} must lie in {interval}, got {_show(arr)}")
    return arr


def positive(x, name: str) -> np.ndarray:
    """A finite value > 0."""
    arr = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f"{name} must be finite and > 0, got {_show(arr)}")
    return arr
