"""What each column of the estimate table is: its target, and whether it is unbiased, biased (which
way) or a bound in expectation only. One registry for the CLI (``bonkl estimate --columns``), the
README's column table and the workflow's tables (docs/MATH.md derives each statement)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    estimates: str  # the quantity of the MODEL's best-of-n it estimates, or what it is
    kind: str  # unbiased / biased up / bound in expectation / exact / description


INTERVAL_COLUMNS = ("kl_estimator_mean", "kl_alternate", "expected_reward", "win_rate")

COLUMNS = (
    Column("prompt_id", "the prompt (as written in the input)", "key"),
    Column("n", "number of draws best-of-n selects from", "key"),
    Column("num_samples", "N, the pool's draws for this prompt", "pool"),
    Column("num_outcomes", "distinct responses in the pool", "pool"),
    Column("kl_bon", "eq. 4, log n - (n-1)/n: an upper bound on KL(pi_n || pi) for every model", "exact"),
    Column(
        "kl_estimator_mean",
        "E_{pi_n}[KLhat(eps)] (eq. 25) with eps the mass of the winner's reward level",
        "unbiased when no two distinct answers tie in reward (or --ties logprob); with ties, eps is "
        "bounded from below by the level's sampled answers and the mean is biased upward. "
        "Conjecture 4.4: at least the KL",
    ),
    Column(
        "kl_estimator_q05",
        "5% quantile of KLhat(eps) under best-of-n (from the unbiased estimate of its distribution)",
        "consistent; a description of spread, not an interval",
    ),
    Column("kl_estimator_q95", "95% quantile of KLhat(eps) under best-of-n (as q05)", "as kl_estimator_q05"),
    Column(
        "kl_estimator_tilted_min",
        "eq. 133 tilted mean of KLhat under best-of-n at tilt -t (the paper's 'tilted min')",
        "log of an unbiased moment: biased; a tilted mean, not a quantile",
    ),
    Column("kl_estimator_tilted_max", "eq. 133 tilted mean at +t (the paper's 'tilted max')", "as tilted_min"),
    Column(
        "kl_alternate",
        "E_{pi_n}[log((1 - (1 - eps)^n)/eps)] (eq. 23), eps as for kl_estimator_mean",
        "as kl_estimator_mean; an upper bound on the KL in expectation (Lemma 4.1)",
    ),
    Column(
        "kl_corollary_4_2_bound",
        "Corollary 4.2 with F(y) bounded from above, and the level mass from below, by the sampled answers",
        "upper bound on the KL in expectation only: a single pool can fall below the KL; never above "
        "kl_alternate; no interval",
    ),
    Column(
        "kl_corollary_4_2_above_kl_bon",
        "True where the Corollary 4.2 column exceeds eq. 4 (eq. 4 is then the better bound)",
        "flag",
    ),
    Column("expected_reward", "E_{pi_n}[reward]", "unbiased"),
    Column(
        "win_rate",
        "P(best-of-n beats one more draw from the model), a tie counting 1/2 (eq. 28)",
        "unbiased; needs n + 1 <= N (empty at n = N)",
    ),
    Column("beyond_pool", "True for n > N (plug-in only: the row describes the pool, not the model)", "flag"),
    Column(
        "<col>_ci_low, <col>_ci_high",
        f"studentized-bootstrap interval for {', '.join(INTERVAL_COLUMNS)} at --level",
        "coverage measured in docs/coverage.md; empty where the study found no method holds (see ci_note)",
    ),
    Column("ci_note", "why some intervals of the row are empty", "text"),
    Column(
        "renyi_<a>, chi2, tv",
        "Renyi divergence of order a, chi-square, total variation of best-of-n, from the Corollary 4.2 ratio",
        "biased upward in expectation for a <= 1, chi2 and tv; no proved direction for a > 1 and a = inf",
    ),
    Column("<div>_bound", "the Mroueh (2024) bound on that divergence for every model", "exact"),
    Column(
        "<div>_above_bound",
        "True where the estimate exceeds its bound: impossible for the truth, so it measures estimator error",
        "flag",
    ),
)


def describe() -> str:
    """The registry as aligned text (``bonkl estimate --columns``)."""
    width = max(len(c.name) for c in COLUMNS)
    return "\n".join(f"{c.name:<{width}}  {c.estimates}.\n{'':<{width}}  [{c.kind}]" for c in COLUMNS)
