"""The win-rate-optimal KL-regularised policy (Section 7, eq. 1-2 with the calibrated reward)."""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

from . import _validate
from ._docs import documented
from ._types import ArrayLike, NDArray
from .win_rate import calibrated_reward


@documented("p beta", "The masses of ``pi_beta``.", "eq. 1-2 and eq. 30 (Section 7)", kind="pmf")
def optimal_policy(p: ArrayLike, beta: ArrayLike) -> NDArray[np.float64]:
    """``pi_beta(y) proportional to pi(y) exp(C(y)/beta)``, ``beta > 0``; shape ``np.shape(beta) + p.shape``.

    Normalised with a softmax in log space, so small ``beta`` does not overflow.

    Examples
    --------
    >>> import numpy as np
    >>> from bonkl import optimal_policy
    >>> print(np.round(optimal_policy([0.5, 0.5], 1.0), 4))
    [0.3775 0.6225]
    """
    p = _validate.pmf(p)
    beta = _validate.positive(beta, "beta")[..., None]
    with np.errstate(divide="ignore"):
        logits = np.log(p) + calibrated_reward(p) / beta
    return softmax(logits, axis=-1)
