"""What each column of the estimate table is: its target, and whether it is unbiased, biased (which
way) or a bound in expectation only. One registry for the CLI (``bonkl estimate --columns``), the
README's column table and the workflow's tables (docs/MATH.md derives each statement).

With a sampler's log-probabilities (``--sampler-logprob-col``: the pool was drawn from ``q``, not from
the reference ``pi``), the paper's columns are those of best-of-n's own step from ``q``, with ``q`` in
place of ``pi``: they describe ``KL(BoN_q || q)``, and the ``kl_to_reference_*`` columns add the log
ratio to reach ``KL(BoN_q || pi)`` (docs/MATH.md, "Best-of-n from another sampler")."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    estimates: str  # the quantity of the MODEL's best-of-n it estimates, or what it is
    kind: str  # unbiased / biased up / bound in expectation / exact / description


INTERVAL_COLUMNS = ("kl_estimator_mean", "kl_alternate", "expected_reward", "win_rate")
# With their input only (a sampler's log-probabilities, an evaluation reward); kept where the coverage
# study of samplers found the interval holds (docs/MATH.md, "Best-of-n from another sampler").
DRAW_INTERVAL_COLUMNS = ("sampler_log_ratio", "expected_eval_reward")

COLUMNS = (
    Column("prompt_id", "the prompt (as written in the input)", "key"),
    Column("n", "number of draws best-of-n selects from", "key"),
    Column("num_samples", "N, the pool's draws for this prompt", "pool"),
    Column("num_outcomes", "distinct responses in the pool", "pool"),
    Column("kl_bon", "eq. 4, log n - (n-1)/n: an upper bound on KL(pi_n || pi) for every model", "exact"),
    Column(
        "kl_estimator_mean",
        "E_{pi_n}[KLhat(eps)] (eq. 25) with eps the mass of the winner's reward level (its q-mass, "
        "and pi_n = BoN_q, with --sampler-logprob-col)",
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
        "Corollary 4.2 with F(y) bounded from above, and the level mass from below, by the sampled answers "
        "(their q-masses, of KL(BoN_q || q), with --sampler-logprob-col)",
        "upper bound on the KL in expectation only: a single pool can fall below the KL; never above "
        "kl_alternate; no interval",
    ),
    Column(
        "kl_corollary_4_2_above_kl_bon",
        "True where the Corollary 4.2 column exceeds eq. 4 (eq. 4 is then the better bound)",
        "flag",
    ),
    Column(
        "sampler_log_ratio",
        "E_{BoN_q}[log q(y) - log pi(y)] (with --sampler-logprob-col): the part of KL(BoN_q || pi) that "
        "the sampler q adds to best-of-n's own step, KL(BoN_q || pi) = KL(BoN_q || q) + this; at n = 1, KL(q || pi)",
        "unbiased (the per-response log ratio averaged with the best-of-n weights; tied draws share their "
        "level's weight in proportion to their draws)",
    ),
    Column(
        "kl_to_reference_estimator_mean",
        "KL(BoN_q || pi) as kl_estimator_mean (eq. 25 at q-masses: KL(BoN_q || q)) + sampler_log_ratio",
        "the eq. 25 part keeps its direction (Conjecture 4.4: at least the KL in expectation; biased "
        "upward with reward ties), the log-ratio part is unbiased; at n = 1 an unbiased estimate of "
        "KL(q || pi), not clipped at 0 (a single pool can fall below 0)",
    ),
    Column(
        "kl_to_reference_corollary_4_2_bound",
        "KL(BoN_q || pi) as kl_corollary_4_2_bound (F and the level mass bounded with q-masses) + sampler_log_ratio",
        "upper bound on KL(BoN_q || pi) in expectation only (the Corollary 4.2 part is one, the "
        "log-ratio part is unbiased); no interval",
    ),
    Column("expected_reward", "E_{pi_n}[reward]", "unbiased"),
    Column(
        "expected_eval_reward",
        "E_{pi_n}[evaluation reward] (with --eval-reward-col) of the best-of-n that the reward column "
        "selects, ties broken as --ties says (random: the mean evaluation reward of the tied draws)",
        "unbiased; with no ties in the selecting reward it is Coste et al. (2024)'s estimator "
        "(weight C(i-1, n-1)/C(N, n) on the i-th lowest draw)",
    ),
    Column(
        "win_rate",
        "P(best-of-n beats one more draw from the model), a tie counting 1/2 (eq. 28); with "
        "--sampler-logprob-col, one more draw from the sampler q",
        "unbiased; needs n + 1 <= N (empty at n = N)",
    ),
    Column("beyond_pool", "True for n > N (plug-in only: the row describes the pool, not the model)", "flag"),
    Column(
        "<col>_ci_low, <col>_ci_high",
        f"studentized-bootstrap interval for {', '.join(INTERVAL_COLUMNS)} and, with their inputs, "
        f"{', '.join(DRAW_INTERVAL_COLUMNS)} at --level",
        "coverage measured in docs/coverage.md; an end at the column's range where the pool cannot bound that "
        "side; empty where the study found no method holds (see ci_note)",
    ),
    Column("ci_note", "why some intervals of the row are empty", "text"),
    Column(
        "renyi_<a>, chi2, tv",
        "Renyi divergence of order a, chi-square, total variation of best-of-n, from the Corollary 4.2 ratio "
        "(of BoN_q against q with --sampler-logprob-col)",
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
