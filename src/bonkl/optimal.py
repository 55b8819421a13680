"""The win-rate-optimal KL-regularised policy (Section 7, eq. 1-2 with the calibrated reward)."""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

from . import _validate
from .win_rate import calibrated_reward


def optimal_policy(p, beta):
    """``pi_beta(y) proportional to pi(y) exp(C(y)/beta)``, ``beta > 0``; shape ``np.shape(beta) + p.shape``.

    Normalised with a softmax in log space, so small ``beta`` does not overflow.
    """
    p = _validate.pmf(p)
    beta = _validate.positive(beta, "beta")[..., None]
    with np.errstate(divide="ignore"):
        logits = np.log(p) + calibrated_reward(p) / beta
    return softmax(logits, axis=-1)
