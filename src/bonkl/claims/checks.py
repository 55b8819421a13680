"""The paper's claims as data: what each states and how it is checked on one random model.

Claims checked, per model and per ``n`` unless stated:

* Lemma 2.3: ``pi_n >= 0`` and ``sum pi_n = 1`` for real ``n`` (slack ``-|sum - 1|``).
* Theorem 3.1: ``KL(pi_n || pi) <= log n - (n-1)/n``.
* Theorem 3.6: ``gap_n >= Delta_n(1 - eps_inf, 1)`` (:func:`bonkl.kl_gap_lower_bound`).
* Corollary 3.7: with ``d_n = gap_n - (KL_bon(n) - log(1/eps_inf)) = log(1/eps_inf) - KL(pi_n||pi)``
  (the ``o(1)`` term), ``0 <= d_n <= h(R) + R log((1 - eps_inf)/eps_inf)``, ``R = (1 - eps_inf)^n``,
  ``h`` the binary entropy. The lower side holds because every likelihood ratio ``pi_n/pi`` is at
  most ``1/eps_inf`` (``n eps (1-eps)^(n-1) <= 1``); the upper side is the log-sum inequality on
  the outcomes below the top, whose best-of-n mass is ``R``. The upper bound tends to 0
  (exponentially once ``n eps_inf >> 1``), so the sandwich proves ``d_n -> 0``; it is checked on
  the whole grid, up to ``n = 10^6``.
* Conjecture 4.4: ``E_{pi_n}[KLhat(pi(y))] >= KL(pi_n || pi)``.
* Lemma 4.5: ``0 <= KLhat(eps, n) <= KL_bon(n)`` for ``eps`` every mass of the model.
* Theorem 5.3: ``winrate(pi_n) <= n/(n+1)``.
* Theorem 5.6: ``n/(n+1) - winrate >= delta_n(1 - eps_inf, 1)`` (:func:`bonkl.win_rate_gap_lower_bound`).
* Corollary 5.7: with ``g_n = n/(n+1) - winrate - eps_inf/2``,
  ``R eps_inf/2 - 1/(n+1) <= g_n <= R (1 - eps_inf/2) - 1/(n+1)`` (each outcome below the top has
  calibrated reward between 0 and ``1 - eps_inf``); both sides tend to 0, so ``g_n -> 0``.
* Lemma 6.2: for every outcome boundary ``q = F^-(y_j)`` with ``p_tau = 1 - q >= 1e-3``,
  ``KL(pi_rr || pi) = log(1/p_tau)`` and ``winrate(pi_rr) = 1 - p_tau/2`` (:func:`bonkl.rr_pmf`,
  :func:`bonkl.kl_divergence`, Lemma 5.1 with :func:`bonkl.calibrated_reward`). Smaller ``p_tau``
  are left out: a threshold given as a float quantile ``q`` fixes ``p_tau = 1 - q`` only to about
  ``1e-16/p_tau`` relative.
* Beyond the paper, Mroueh (2024): ``D_f(pi_n || pi) <= integral_0^1 f(n u^(n-1)) du`` for the Renyi
  divergences of :data:`MROUEH_ALPHAS` (:func:`bonkl.renyi_bound`), chi-square (``(n-1)^2/(2n-1)``)
  and total variation (``(1 - 1/n) n^(-1/(n-1))``), each against its exact value from Lemma 2.3.
* Theorem 6.3 (exact): ``sum_k p (1-p)^(k-1) H_{k-1} = log(1/p)`` for ``p`` in :data:`P_TAUS`,
  summed to a truncation error below 1e-17, with :func:`bonkl.rr_kl_estimator`.
* Theorem 6.3 (simulation): for each ``p`` in :data:`P_TAUS`, ``mc_draws`` draws of
  ``K ~ Geometric(p)``; the mean of ``H_{K-1}`` must lie within a Bonferroni-corrected 99.9%
  normal interval (over the ``p`` values) around ``log(1/p)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import ndtri

import bonkl
from bonkl import divergences

#: Acceptance probabilities of the rewind-and-repeat checks (Theorem 6.3).
P_TAUS = np.array([0.9, 0.5, 0.1, 1e-2, 1e-3, 1e-4, 1e-5])
#: Absolute tolerance of the deterministic checks (nats or probability).
TOLERANCE = 1e-9
#: Lemma 6.2 is checked at thresholds with at least this acceptance probability.
RR_MIN_P_TAU = 1e-3
#: Family confidence of the Theorem 6.3 simulation.
MC_CONFIDENCE = 0.999
#: Renyi orders of the Mroueh (2024) bound rows (beyond the paper).
MROUEH_ALPHAS = (0.5, 2.0, 10.0, np.inf)
MROUEH_ALPHAS_TEXT = "{0.5, 2, 10, inf}"


@dataclass(frozen=True)
class Claim:
    """One row of the claims table: what the paper states and how it is checked.

    ``check`` returns ``(slack, describe)``: an array of slacks (>= ``-tolerance`` where the claim
    holds) and ``describe(i)``, naming the case at flat index ``i``. A per-model claim's check takes a
    :class:`ModelCase`; the others (Theorem 6.3) take ``(seed, mc_draws)``.
    """

    name: str  # where the paper states it, e.g. "Theorem 3.1"
    statement: str
    check: Callable
    per_model: bool = True
    tolerance: float = TOLERANCE

    @property
    def label(self) -> str:
        """The ``claim`` column of the table."""
        return f"{self.name}: {self.statement}"


class ModelCase:
    """One random model over the grid of ``n``: the quantities several claims share, computed once."""

    def __init__(self, p: np.ndarray, n: np.ndarray, label: str):
        self.p, self.n, self.label = p, n, label
        self.size, self.eps_inf = p.size, p[-1]

    def at_n(self, index: int) -> str:
        return f"{self.label} L={self.size} n={self.n[index]:.10g}"

    @cached_property
    def kl(self) -> np.ndarray:
        return bonkl.kl_exact(self.p, self.n)

    @cached_property
    def gap(self) -> np.ndarray:
        return bonkl.kl_gap(self.p, self.n)

    @cached_property
    def win_rate_gap(self) -> np.ndarray:
        return bonkl.win_rate_gap(self.p, self.n)

    @cached_property
    def log_keep(self) -> float:
        """``log(1 - eps_inf)``, from the masses below the top when ``eps_inf`` is near 1 (it may round to 1.0)."""
        return np.log(self.p[:-1].sum()) if self.eps_inf > 0.5 else np.log1p(-self.eps_inf)

    @cached_property
    def log_ratio(self) -> tuple[np.ndarray, np.ndarray]:
        """Lemma 2.3's likelihood ratio in log space, shared by the Mroueh (2024) rows."""
        return divergences.bon_log_ratio(self.p, self.n)

    @cached_property
    def boundaries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Lemma 6.2's thresholds ``q = F^-(y_j)`` with ``p_tau >= RR_MIN_P_TAU``, as a caller would form them:
        ``(p_tau, pi_rr, j)``."""
        below = np.concatenate(([0.0], np.cumsum(self.p)[:-1]))
        keep = (1.0 - below) >= RR_MIN_P_TAU
        return 1.0 - below[keep], bonkl.rr_pmf(self.p, below[keep]), np.flatnonzero(keep)

    def at_q(self, index: int) -> str:
        p_tau, _, j = self.boundaries
        return f"{self.label} L={self.size} j={j[index]} p_tau={p_tau[index]:.3g}"


def _lemma_2_3(c: ModelCase):
    pin = bonkl.bon_pmf(c.p, c.n)
    return np.where(np.all(pin >= 0, axis=-1), -np.abs(pin.sum(axis=-1) - 1.0), -np.inf), c.at_n


def _theorem_3_1(c: ModelCase):
    return bonkl.kl_bon(c.n) - c.kl, c.at_n


def _theorem_3_6(c: ModelCase):
    return c.gap - bonkl.kl_gap_lower_bound(c.p, c.n), c.at_n


def _corollary_3_7(c: ModelCase):
    o1 = c.gap - bonkl.kl_gap_limit(c.p, c.n)
    log_r = c.n * c.log_keep
    r = np.exp(log_r)
    upper = _binary_entropy(log_r) + np.where(r > 0, r * (c.log_keep - np.log(c.eps_inf)), 0.0)
    return np.minimum(o1, upper - o1), c.at_n


def _conjecture_4_4(c: ModelCase):
    return bonkl.expected_kl_estimator(c.p, c.n) - c.kl, c.at_n


def _lemma_4_5(c: ModelCase):
    estimate = bonkl.kl_estimator(c.p[None, :], c.n[:, None])
    slack = np.minimum(estimate, bonkl.kl_bon(c.n)[:, None] - estimate)
    return slack, lambda i: f"{c.label} L={c.size} n={c.n[i // c.size]:.10g} eps={c.p[i % c.size]:.3g}"


def _theorem_5_3(c: ModelCase):
    return c.win_rate_gap, c.at_n


def _theorem_5_6(c: ModelCase):
    return c.win_rate_gap - bonkl.win_rate_gap_lower_bound(c.p, c.n), c.at_n


def _corollary_5_7(c: ModelCase):
    r = np.exp(c.n * c.log_keep)
    excess = c.win_rate_gap - bonkl.win_rate_gap_limit(c.p) + 1.0 / (c.n + 1.0)
    return np.minimum(excess - r * c.eps_inf / 2, r * (1.0 - c.eps_inf / 2) - excess), c.at_n


def _lemma_6_2_kl(c: ModelCase):
    p_tau, rr, _ = c.boundaries
    return -np.abs(bonkl.kl_divergence(rr, c.p) - bonkl.rr_kl(p_tau)), c.at_q


def _lemma_6_2_win_rate(c: ModelCase):
    p_tau, rr, _ = c.boundaries
    # Lemma 5.1 (bonkl.win_rate takes one policy at a time; this is its formula for all rows at once)
    return -np.abs(rr @ bonkl.calibrated_reward(c.p) - bonkl.rr_win_rate(p_tau)), c.at_q


def _mroueh_renyi(c: ModelCase):
    positive, log_ratio = c.log_ratio
    slack = np.stack(
        [bonkl.renyi_bound(c.n, a) - divergences.renyi_from_log_ratio(positive, log_ratio, a) for a in MROUEH_ALPHAS]
    )
    return slack, lambda i: f"{c.label} L={c.size} alpha={MROUEH_ALPHAS[i // c.n.size]:g} n={c.n[i % c.n.size]:.10g}"


def _mroueh_chi2(c: ModelCase):
    return bonkl.chi2_bound(c.n) - divergences.chi2_from_log_ratio(*c.log_ratio), c.at_n


def _mroueh_tv(c: ModelCase):
    return bonkl.tv_bound(c.n) - divergences.tv_from_log_ratio(*c.log_ratio), c.at_n


def _theorem_6_3_series(seed: int, mc_draws: int):
    exact = []
    for p in P_TAUS:
        # terms p (1-p)^(k-1) H_{k-1}; stop once (1-p)^k H_k log-term < 1e-17 relative
        kmax = int(np.ceil((45.0 + np.log(1.0 / p)) / -np.log1p(-p))) + 1
        k = np.arange(1, kmax + 1, dtype=np.float64)
        weights = p * np.exp((k - 1.0) * np.log1p(-p))
        exact.append(np.sum(weights * bonkl.rr_kl_estimator(k)))
    return -np.abs(np.array(exact) - bonkl.rr_kl(P_TAUS)), lambda i: f"p_tau={P_TAUS[i]:g}"


def _theorem_6_3_simulation(seed: int, mc_draws: int):
    rng = np.random.default_rng([seed, 2**32 - 1])
    z = ndtri(1.0 - (1.0 - MC_CONFIDENCE) / (2 * P_TAUS.size))
    slack = []
    for p in P_TAUS:
        values = bonkl.rr_kl_estimator(rng.geometric(p, size=mc_draws))
        half_width = z * values.std(ddof=1) / np.sqrt(mc_draws)
        slack.append(half_width - abs(values.mean() - bonkl.rr_kl(p)))
    return np.array(slack), lambda i: f"p_tau={P_TAUS[i]:g} draws={mc_draws}"


_BOUNDARY = f"at every outcome boundary with p_tau >= {RR_MIN_P_TAU:g}"
_MROUEH = "Beyond the paper, Mroueh (2024)"
#: The claims table, in row order.
CLAIMS = (
    Claim("Lemma 2.3", "pi_n = F^n - (F^-)^n is a PMF for real n >= 1", _lemma_2_3),
    Claim("Theorem 3.1", "KL(pi_n||pi) <= log n - (n-1)/n", _theorem_3_1),
    Claim("Theorem 3.6", "gap_n >= Delta_n(1 - eps_inf, 1)", _theorem_3_6),
    Claim(
        "Corollary 3.7",
        "0 <= gap_n - (KL_bon(n) - log(1/eps_inf)) <= h(R) + R log((1-eps_inf)/eps_inf) -> 0",
        _corollary_3_7,
    ),
    Claim("Conjecture 4.4", "E_{pi_n}[KLhat(pi(y))] >= KL(pi_n||pi)", _conjecture_4_4),
    Claim("Lemma 4.5", "0 <= KLhat(eps, n) <= KL_bon(n) at every mass eps", _lemma_4_5),
    Claim("Theorem 5.3", "winrate(pi_n) <= n/(n+1)", _theorem_5_3),
    Claim("Theorem 5.6", "n/(n+1) - winrate >= delta_n(1 - eps_inf, 1)", _theorem_5_6),
    Claim(
        "Corollary 5.7",
        "R eps_inf/2 <= n/(n+1) - winrate - eps_inf/2 + 1/(n+1) <= R (1 - eps_inf/2) -> 0",
        _corollary_5_7,
    ),
    Claim("Lemma 6.2", f"KL(pi_rr||pi) = log(1/p_tau) {_BOUNDARY}", _lemma_6_2_kl),
    Claim("Lemma 6.2", f"winrate(pi_rr) = 1 - p_tau/2 {_BOUNDARY}", _lemma_6_2_win_rate),
    Claim(
        _MROUEH,
        f"D_alpha(pi_n||pi) <= log(n^alpha/(alpha(n-1)+1))/(alpha-1), alpha in {MROUEH_ALPHAS_TEXT}",
        _mroueh_renyi,
    ),
    Claim(_MROUEH, "chi^2(pi_n||pi) <= (n-1)^2/(2n-1)", _mroueh_chi2),
    Claim(_MROUEH, "TV(pi_n, pi) <= (1 - 1/n) n^(-1/(n-1))", _mroueh_tv),
    Claim(
        "Theorem 6.3 (exact series)",
        "E[H_{K-1}] = log(1/p_tau), K ~ Geometric(p_tau)",
        _theorem_6_3_series,
        per_model=False,
    ),
    Claim(
        "Theorem 6.3 (simulation)",
        "mean of H_{K-1} within Bonferroni 99.9% CI of log(1/p_tau)",
        _theorem_6_3_simulation,
        per_model=False,
        tolerance=0.0,
    ),
)


def _binary_entropy(log_r):
    """``h(R)`` in nats for ``R = exp(log_r)``, accurate when ``R`` is near 0 or near 1."""
    r = np.exp(log_r)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_1mr = np.log(-np.expm1(log_r))
        value = -r * log_r - (-np.expm1(log_r)) * log_1mr
    return np.where(r > 0, np.where(log_r < 0, value, 0.0), 0.0)
