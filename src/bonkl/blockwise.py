"""Blockwise best-of-n (Appendix B, Theorem B.1)."""

from __future__ import annotations

import numpy as np

from .bon import kl_bon


def blockwise_kl_bound(lengths, block, n):
    """Theorem B.1: ``KL(pi_{n,B} || pi) <= E[ceil(len(y)/B)] KL_bon(n)``.

    ``lengths`` are the token lengths of draws from the blockwise policy; returns the sample mean
    of ``ceil(len/B) * KL_bon(n)``, an estimator whose expectation upper-bounds the KL.
    """
    lengths = np.asarray(lengths, dtype=np.float64)
    if lengths.size == 0 or np.any(lengths < 0) or np.any(lengths != np.floor(lengths)):
        raise ValueError(f"lengths must be non-negative integers (token counts), got {lengths!r}")
    if not (np.isfinite(float(block)) and float(block) == int(block) and int(block) >= 1):
        raise ValueError(f"block must be an integer >= 1 (tokens per block), got {block!r}")
    return (np.mean(np.ceil(lengths / int(block))) * kl_bon(n))[()]
