"""Win rate against KL of families of policies (Figures 7, 8 and 13), and Figure 13's divergences.

:func:`tradeoff_rows` is the one tradeoff computation: Example 2's families (Figures 7 and 8) and the
five selection rules of Figure 13 (:func:`selection_rules`) both go through it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import divergences
from ..bon import bon_pmf
from ..divergences import kl_divergence
from ..kl import kl_exact
from ..optimal import optimal_policy
from ..rewind_repeat import rr_pmf
from ..selection import bop_pmf, soft_bon_pmf
from ..win_rate import calibrated_reward, win_rate

# beta of pi_beta, from nearly the reference to nearly the top outcome (C lies in [0, 1])
BETA_RANGE = (1e-3, 1e2)


def many_outcomes_model(alphabet_size: int, zipf_exponent: float, seed: int) -> np.ndarray:
    """Zipf masses ``k^-s`` in a seeded random reward order: likely outcomes anywhere in the ranking."""
    p = np.arange(1, alphabet_size + 1, dtype=np.float64) ** -zipf_exponent
    return np.random.default_rng(seed).permutation(p / p.sum())


def tradeoff_rows(p, families) -> pd.DataFrame:
    """``(family, parameter_name, parameter, kl, win_rate)`` for each family of policies on masses ``p``.

    ``families`` holds ``(family, parameter_name, parameters, policies)``, one policy (a PMF over the
    outcomes, in increasing reward order) per parameter. Best-of-n's KL is Lemma 2.3's exact sum
    (:func:`bonkl.kl.kl_exact`, accurate for huge ``n``); the others' is their KL divergence from ``p``.
    """
    rows = []
    for family, name, values, rho in families:
        kl = kl_exact(p, values) if family == "best_of_n" else kl_divergence(rho, p)
        rows.append(
            pd.DataFrame(
                {"family": family, "parameter_name": name, "parameter": values, "kl": kl, "win_rate": win_rate(rho, p)}
            )
        )
    return pd.concat(rows, ignore_index=True)


def selection_rules(p, *, n_max: float, num_points: int, soft_lambda: float) -> list:
    """Figure 13's five rules on masses ``p``, as :func:`tradeoff_rows` takes them."""
    n = np.geomspace(1, n_max, num_points)
    below = np.concatenate(([0.0], np.cumsum(p)[:-1]))
    q = np.unique(np.concatenate([np.linspace(0, 1, num_points, endpoint=False), below]))
    beta = np.geomspace(BETA_RANGE[1], BETA_RANGE[0], num_points)
    return [
        ("best_of_n", "n", n, bon_pmf(p, n)),
        ("best_of_poisson", "mu", n - 1.0, bop_pmf(p, n - 1.0)),
        ("soft_best_of_n", "n", n, soft_bon_pmf(p, calibrated_reward(p), n, soft_lambda)),
        ("rewind_repeat", "q", q, rr_pmf(p, q)),
        ("optimal", "beta", beta, optimal_policy(p, beta)),
    ]


def divergence_rows(p, *, n_max: float, num_points: int, alphas) -> pd.DataFrame:
    """``(divergence, n, exact, bound)``: Renyi at each alpha and inf, chi-square, TV of best-of-n."""
    n = np.geomspace(1, n_max, num_points)
    positive, log_ratio = divergences.bon_log_ratio(p, n)
    rows = []
    for alpha in [*alphas, np.inf]:
        rows.append(
            (
                "renyi_" + ("inf" if alpha == np.inf else f"{alpha:g}"),
                divergences.renyi_from_log_ratio(positive, log_ratio, float(alpha)),
                divergences.renyi_bound(n, alpha),
            )
        )
    rows.append(("chi2", divergences.chi2_from_log_ratio(positive, log_ratio), divergences.chi2_bound(n)))
    rows.append(("tv", divergences.tv_from_log_ratio(positive, log_ratio), divergences.tv_bound(n)))
    return pd.concat(
        [pd.DataFrame({"divergence": name, "n": n, "exact": exact, "bound": bound}) for name, exact, bound in rows],
        ignore_index=True,
    )
