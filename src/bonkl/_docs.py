"""The Parameters, Returns and References sections of the public mathematics, written once.

As scipy's ``doccer`` does: a parameter that many functions share (``p``, ``n``, ``eps``, ...) is
described here, and :func:`documented` builds each function's numpydoc sections from names, so the
descriptions cannot drift apart. The docstring in the source keeps the summary and the Examples
(run by ``pytest --doctest-modules``); ``help()`` and ``__doc__`` show the whole.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

PAPER = 'A. Beirami et al., "Theoretical Guarantees on the Best-of-n Alignment Policy", ICML 2025'
MROUEH = 'Y. Mroueh, "Information theoretic guarantees for policy alignment in large language models", 2024'
#: Return types by short name; a PMF's leading axes are those of the broadcast parameters.
KINDS = {
    "value": "float or ndarray",
    "float": "float",
    "pmf": "ndarray, shape (..., L)",
    "masses": "ndarray, shape (L,)",
    "pair": "tuple of float or ndarray",
}

PARAMETERS = {
    "p": "p : array_like, shape (L,)\n    Reference masses in increasing reward order; they must sum to 1.",
    "n": "n : float or array_like\n    Sample size, real, ``>= 1``.",
    "eps": "eps : float or array_like\n    Reference mass ``pi(y)`` of the drawn outcome, in (0, 1].",
    "cdf": "cdf : float or array_like\n    ``F(y)``, the CDF of the reference at the outcome, in [eps, 1].",
    "statistic": "statistic : callable\n    ``statistic(eps, n)``, e.g. :func:`kl_estimator` or :func:`kl_alternate`.",
    "p_tau": "p_tau : float or array_like\n    Acceptance probability of rewind-and-repeat, in (0, 1].",
    "a": "a, b : float or array_like\n    The quantiles ``[a, b]`` an outcome occupies, ``0 <= a < b <= 1``.",
    "u": "u : float or array_like\n    A quantile in [0, 1].",
    "rho": "rho : array_like, shape (..., L)\n    A policy's masses on the outcomes of ``p``; leading axes: a batch.",
    "q": "q : float or array_like\n    The threshold on the reward quantile, in [0, 1).",
    "k": "k : int or array_like\n    Number of draws until acceptance, an integer ``>= 1``.",
    "beta": "beta : float or array_like\n    The weight of the KL in the objective, ``> 0``.",
    "alpha": "alpha : float\n    The Renyi order, ``> 0`` (``1`` the KL, ``inf`` the max-divergence).",
    "x": "x : array_like\n    Finite values.",
    "t": "t : float or array_like\n    The tilt: ``0`` the mean, ``+inf`` the max, ``-inf`` the min.",
    "weights": "weights : array_like, optional\n    Non-negative probabilities of the values (default: equal).",
    "lengths": "lengths : array_like of int\n    Token lengths of draws from the blockwise policy.",
    "block": "block : int\n    Tokens per block, ``>= 1``.",
    "mu": "mu : float or array_like\n    The Poisson mean of ``N - 1``, ``>= 0``.",
    "reward": "reward : array_like, shape (L,)\n    The outcomes' rewards, strictly increasing.",
    "lam": "lam : float or array_like\n    The temperature of the soft selection, ``> 0``.",
}


def documented(params: str, returns: str, reference: str, *, kind: str = "value", source: str = PAPER):
    """Give a function its Parameters, Returns and References sections (before its Examples).

    ``params``: names of :data:`PARAMETERS`, space-separated; ``returns``: what it returns, of a type
    of :data:`KINDS`; ``reference``: where ``source`` states it (e.g. ``"eq. 4; Theorem 3.1"``).
    """

    def decorate(func: Callable) -> Callable:
        doc = inspect.cleandoc(func.__doc__ or "")
        head, marker, examples = doc.partition("\nExamples\n--------\n")
        sections = [
            "Parameters",
            "----------",
            *(PARAMETERS[name] for name in params.split()),
            "",
            "Returns",
            "-------",
            KINDS[kind],
            f"    {returns}",
            "",
            "References",
            "----------",
            f".. [1] {source}: {reference}.",
        ]
        func.__doc__ = "\n".join([head.rstrip(), "", *sections]) + ("\n" + marker + examples if marker else "")
        return func

    return decorate
