"""Blockwise best-of-n (Appendix B, Theorem B.1)."""

from __future__ import annotations

import numpy as np

from ._docs import documented
from ._types import ArrayLike, FloatOrArray
from .bon import kl_bon


@documented("lengths block n", "The mean of ``ceil(len/B) KL_bon(n)``.", "Theorem B.1")
def blockwise_kl_bound(lengths: ArrayLike, block: int, n: ArrayLike) -> FloatOrArray:
    """Theorem B.1: ``KL(pi_{n,B} || pi) <= E[ceil(len(y)/B)] KL_bon(n)``.

    ``lengths`` are the token lengths of draws from the blockwise policy; returns the sample mean
    of ``ceil(len/B) * KL_bon(n)``, an estimator whose expectation upper-bounds the KL.

    Examples
    --------
    >>> from bonkl import blockwise_kl_bound, kl_bon
    >>> bool(blockwise_kl_bound([10, 20], 10, 4) == 1.5 * kl_bon(4))
    True
    """
    lengths = np.asarray(lengths, dtype=np.float64)
    if lengths.size == 0 or np.any(lengths < 0) or np.any(lengths != np.floor(lengths)):
        raise ValueError(f"lengths must be non-negative integers (token counts), got {lengths!r}")
    if not (np.isfinite(float(block)) and float(block) == int(block) and int(block) >= 1):
        raise ValueError(f"block must be an integer >= 1 (tokens per block), got {block!r}")
    return (np.mean(np.ceil(lengths / int(block))) * kl_bon(n))[()]
