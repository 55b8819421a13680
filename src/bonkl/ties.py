"""Best-of-n when rewards tie (docs/MATH.md, "Ties").

The paper assumes distinct rewards (Assumption 2.1). Best-of-n as it is run, ``argmax`` over ``n``
i.i.d. draws, picks uniformly among the draws that share the top reward. Group the outcomes into
reward levels ``g`` with mass ``P_g`` and CDF ``G_g`` (``G_g^- = G_g - P_g``). The top level of ``n``
draws has the law of Lemma 2.3 over the levels, ``G_g^n - (G_g^-)^n``, and given the level the
chosen draw is one of the level's draws picked at random, so it has the reference law inside the
level:

    pi_n(y) = pi(y) / P_g * (G_g^n - (G_g^-)^n)          (y in level g)

Hence ``pi_n(y) / pi(y)`` is constant within a level, and the KL and win rate of best-of-n are those
of the model whose outcomes are the levels.
"""

from __future__ import annotations

import numpy as np

from . import _validate
from ._types import ArrayLike, FloatOrArray
from .bon import log_bon_pmf
from .kl import kl_exact
from .win_rate import bon_win_rate


def reward_levels(reward: ArrayLike) -> np.ndarray:
    """Level index (0, 1, ...) of each outcome; ``reward`` must be non-decreasing and finite."""
    reward = np.asarray(reward, dtype=np.float64)
    if reward.ndim != 1 or reward.size == 0 or not np.all(np.isfinite(reward)):
        raise ValueError(f"reward must be a non-empty 1-D array of finite values, got shape {reward.shape}")
    if np.any(np.diff(reward) < 0):
        raise ValueError("reward must be non-decreasing (outcomes in increasing reward order)")
    return np.concatenate(([0], np.cumsum(np.diff(reward) > 0)))


def level_masses(p: ArrayLike, reward: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``(P_g per level, level index per outcome)`` for masses ``p`` in increasing reward order."""
    p = _validate.pmf(p)
    levels = reward_levels(reward)
    if levels.size != p.size:
        raise ValueError(f"reward must have one value per mass ({p.size}), got {levels.size}")
    return np.bincount(levels, weights=p), levels


def tied_log_bon_pmf(p: ArrayLike, reward: ArrayLike, n: ArrayLike) -> np.ndarray:
    """``log pi_n(y)`` with ties broken uniformly at random (module docstring); ``-inf`` at zero mass."""
    masses, levels = level_masses(p, reward)
    p = _validate.pmf(p)
    n = _validate.sample_size(n)
    log_level = log_bon_pmf(masses, n)[..., levels]
    with np.errstate(divide="ignore"):
        share = np.log(p) - np.log(np.where(masses > 0, masses, 1.0))[levels]
    return np.where(p > 0, log_level + share, -np.inf)


def tied_bon_pmf(p: ArrayLike, reward: ArrayLike, n: ArrayLike) -> np.ndarray:
    """Best-of-n PMF with ties broken uniformly at random: ``pi(y)/P_g (G_g^n - (G_g^-)^n)``.

    Shape ``np.shape(n) + p.shape``. With distinct rewards it is Lemma 2.3 (``bon_pmf``).
    """
    return np.exp(tied_log_bon_pmf(p, reward, n))


def tied_kl_exact(p: ArrayLike, reward: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """``KL(pi_n || pi)`` with ties broken uniformly at random: the KL of best-of-n over the levels."""
    masses, _ = level_masses(p, reward)
    return kl_exact(masses, n)


def tied_bon_win_rate(p: ArrayLike, reward: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """Win rate of best-of-n against ``pi`` (Lemma 5.2 over the levels; a tie counts 1/2, eq. 28).

    It does not depend on how ties are broken: only the winner's level matters.
    """
    masses, _ = level_masses(p, reward)
    return bon_win_rate(masses, n)
