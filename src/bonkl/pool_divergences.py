"""Renyi, chi-square and total variation of best-of-n from a pool of samples (beyond the paper).

The same route as the pool's Corollary 4.2 column for the KL (:mod:`bonkl.pool`): for each sampled
outcome the likelihood ratio ``w = pi_n(y)/pi(y) = (F^n - (F - eps)^n)/eps`` is formed from its
probability ``eps`` (from the log-probability) and the pool's upper bound on ``F(y)``
(:func:`bonkl.pool.corollary_4_2_inputs`), and averaged under the pool's best-of-n weights
(:func:`bonkl.pool.bon_weights`, unbiased or plug-in). Each divergence is an expectation under
``pi_n``: ``D_alpha = log E_{pi_n}[w^(alpha-1)]/(alpha-1)``, ``D_inf = log max w``,
``chi^2 = E_{pi_n}[w] - 1``, ``TV = E_{pi_n}[max(1 - 1/w, 0)]``. With the true ``F`` and the model's
best-of-n these are exact; ``w`` grows with ``F``, so the upper bound on ``F`` biases them upward,
as for the KL. Beside each, the Mroueh (2024) bound (:mod:`bonkl.divergences`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from .divergences import chi2_bound, renyi_bound, renyi_order, tv_bound
from .estimators import kl_log_ratio
from .pool import Pool, bon_weights, corollary_4_2_inputs


def _name(alpha: float) -> str:
    return "renyi_inf" if alpha == np.inf else f"renyi_{alpha:g}"


def pool_divergences(
    pool: Pool, ns, *, alphas=(0.5, 2.0), ties: str = "random", method: str = "unbiased"
) -> pd.DataFrame:
    """Per ``n``: ``renyi_<alpha>`` for each ``alpha`` (and ``renyi_inf``), ``chi2``, ``tv``, each with
    its ``_bound`` column (Mroueh 2024). ``alpha = 1`` is the pool's Corollary 4.2 KL column."""
    alphas = [renyi_order(a) for a in alphas]
    weights = bon_weights(pool, ns, ties=ties, method=method)  # checks ns against the pool
    ns = np.atleast_1d(np.asarray(ns, dtype=np.float64))
    mass, cdf = corollary_4_2_inputs(pool, ties)
    x = kl_log_ratio(mass, cdf, ns[:, None])  # log w per (n, outcome)
    table = {"n": ns}
    for alpha in [*alphas, np.inf]:
        if alpha == np.inf:
            value = np.max(np.where(weights > 0, x, -np.inf), axis=1)
        elif alpha == 1.0:
            value = np.sum(weights * x, axis=1)
        else:
            with np.errstate(divide="ignore"):
                value = logsumexp((alpha - 1.0) * x, b=weights, axis=1) / (alpha - 1.0)
        table[_name(alpha)] = np.maximum(value, 0.0)  # a divergence; clip the weights' last-bit drift
        table[_name(alpha) + "_bound"] = renyi_bound(ns, alpha)
    table["chi2"] = np.maximum(np.sum(weights * np.expm1(x), axis=1), 0.0)
    table["chi2_bound"] = chi2_bound(ns)
    table["tv"] = np.clip(np.sum(weights * -np.expm1(-np.maximum(x, 0.0)), axis=1), 0.0, 1.0)
    table["tv_bound"] = tv_bound(ns)
    return pd.DataFrame(table)
