"""Numerical checks of the paper's claims on random reference models (``bonkl claims``, rule ``claims_table``).

:func:`run_claims` draws ``num_models`` random PMFs and checks every claim of
:data:`bonkl.claims.checks.CLAIMS` on each of them over a grid of sample sizes ``n`` (integer and
non-integer, 1 to 10^6); it returns one row per claim.

Random models: :mod:`bonkl.random_models` (model ``i`` from ``numpy.random.default_rng([seed, i])``
alone, so results do not depend on the number of workers).

Slack. Every claim is checked as ``slack >= -tolerance``; the slack is in the claim's own units
(nats for KL, probability for win rates). For an inequality ``lhs <= rhs`` the slack is
``rhs - lhs``; for a two-sided statement ``lo <= x <= hi`` it is ``min(x - lo, hi - x)``; for an
equality it is ``-|lhs - rhs|``. A *violation* is a case with ``slack < -tolerance``;
``largest_slack`` is the smallest slack over all cases (the closest call: 0 means equality was
attained somewhere, e.g. at ``n = 1``, where most bounds are tight) and ``closest_case`` says
where it occurred. For the Monte-Carlo row (Theorem 6.3) the slack is the half-width of the
confidence interval minus the distance of the mean from ``log(1/p_tau)`` (tolerance 0).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..files.atomic import write_table, write_text
from ..random_models import random_model
from .checks import CLAIMS, P_TAUS, TOLERANCE, ModelCase

#: Sample sizes of every per-model check: integers 1 to 10^6 and non-integers (Lemma 2.3 holds for real n).
N_GRID = np.array(
    [
        1,
        1 + 1e-6,
        1.001,
        1.1,
        1.5,
        2,
        2.5,
        3,
        np.pi,
        4,
        5,
        7.3,
        8,
        10,
        16,
        31.6,
        50,
        64,
        100,
        128,
        316.2,
        500,
        1000,
        1024,
        3162.3,
        5000,
        10_000,
        100_000,
        1_000_000,
    ],
    dtype=np.float64,
)
COLUMNS = ["claim", "cases", "violations", "largest_slack", "tolerance", "closest_case"]


@dataclass
class _Tally:
    """Running count, violations and closest call of one claim."""

    cases: int = 0
    violations: int = 0
    slack: float = np.inf
    where: str = ""
    tol: float = TOLERANCE

    def add(self, slack, describe):
        """Record an array of slacks; ``describe(index)`` names the case at a flat index."""
        slack = np.asarray(slack, dtype=np.float64).ravel()
        if slack.size == 0:
            return
        bad = ~(slack >= -self.tol)  # NaN counts as a violation
        self.cases += slack.size
        self.violations += int(bad.sum())
        ranked = np.where(np.isnan(slack), -np.inf, slack)
        worst = int(np.argmin(ranked))
        if ranked[worst] < self.slack or not self.where:
            self.slack = float(ranked[worst])
            self.where = describe(worst)

    def merge(self, other: _Tally):
        self.cases += other.cases
        self.violations += other.violations
        if other.slack < self.slack or (not self.where and other.where):
            self.slack, self.where = other.slack, other.where


def _new_tallies() -> list[_Tally]:
    """One tally per claim, in the order of :data:`CLAIMS`."""
    return [_Tally(tol=claim.tolerance) for claim in CLAIMS]


def _merge(tallies: list[_Tally], other: list[_Tally]) -> None:
    for tally, part in zip(tallies, other, strict=True):
        tally.merge(part)


def check_model(p: np.ndarray, n_grid: np.ndarray, tallies: list[_Tally], label: str) -> None:
    """Check every per-model claim on masses ``p`` (increasing reward order) over ``n_grid``."""
    case = ModelCase(p, n_grid, label)
    for claim, tally in zip(CLAIMS, tallies, strict=True):
        if claim.per_model:
            tally.add(*claim.check(case))


def _check_chunk(args) -> list[_Tally]:
    seed, start, stop, n_grid = args
    tallies = _new_tallies()
    for i in range(start, stop):
        family, p = random_model(np.random.default_rng([seed, i]))
        with np.errstate(all="ignore"):
            check_model(p, n_grid, tallies, f"model {i} ({family})")
    return tallies


def run_claims(
    num_models: int = 10_000, seed: int = 0, mc_draws: int = 1_000_000, *, n_grid=None, workers: int | None = None
) -> pd.DataFrame:
    """Check the paper's claims on ``num_models`` random models; one row per claim (see the module doc).

    Columns: ``claim``, ``cases`` (checked instances), ``violations`` (``slack < -tolerance``),
    ``largest_slack`` (the smallest slack: the closest call), ``tolerance``, ``closest_case``.
    Deterministic for a ``seed`` whatever ``workers`` (default: the CPU count, at most 8).
    """
    if int(num_models) < 1 or int(mc_draws) < 100:
        raise ValueError(f"run_claims needs num_models >= 1 and mc_draws >= 100, got {num_models} and {mc_draws}")
    n_grid = N_GRID if n_grid is None else np.asarray(n_grid, dtype=np.float64)
    workers = min(8, os.cpu_count() or 1) if workers is None else max(1, int(workers))
    workers = min(workers, max(1, num_models // 50))
    bounds = np.linspace(0, num_models, 4 * workers + 1 if workers > 1 else 2).astype(int)
    jobs = [(seed, int(a), int(b), n_grid) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    tallies = _new_tallies()
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            for part in pool.map(_check_chunk, jobs):
                _merge(tallies, part)
    else:
        for job in jobs:
            _merge(tallies, _check_chunk(job))
    for claim, tally in zip(CLAIMS, tallies, strict=True):
        if not claim.per_model:
            tally.add(*claim.check(seed, mc_draws))
    rows = [
        {
            "claim": claim.label,
            "cases": tally.cases,
            "violations": tally.violations,
            "largest_slack": tally.slack,
            "tolerance": claim.tolerance,
            "closest_case": tally.where,
        }
        for claim, tally in zip(CLAIMS, tallies, strict=True)
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def to_markdown(table: pd.DataFrame) -> str:
    """The table as GitHub Markdown (slack in scientific notation)."""
    shown = table.copy()
    shown["largest_slack"] = shown["largest_slack"].map(lambda v: f"{v:.3e}")
    shown["tolerance"] = shown["tolerance"].map(lambda v: f"{v:g}")
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "|".join(["---"] * len(shown.columns)) + "|"
    lines = [header, rule]
    for row in shown.itertuples(index=False):
        lines.append("| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines) + "\n"


def claims_report(
    num_models: int, seed: int, mc_draws: int, *, workers: int | None = None, out=None, markdown=None
) -> tuple[pd.DataFrame, str]:
    """The claims command of ``bonkl claims`` and the ``claims_table`` rule: run the checks, write the
    table (``out``, any table format) and its Markdown (``markdown``) atomically, and return the table
    with a one-line summary. The caller checks the output paths before (they are written last)."""
    started = time.perf_counter()
    table = run_claims(num_models, seed, mc_draws, workers=workers)
    elapsed = time.perf_counter() - started
    if out:
        write_table(table, out)
    if markdown:
        write_text(to_markdown(table), markdown)
    violations = int(table["violations"].sum())
    return table, f"{num_models} models, seed {seed}: {violations} violations in {elapsed:.1f} s"


def shown(table: pd.DataFrame) -> str:
    """The table as text, every claim on one line (for the terminal and the rule's log)."""
    with pd.option_context("display.max_colwidth", 200, "display.width", 250):
        return table.to_string(index=False)


__all__ = [
    "CLAIMS",
    "COLUMNS",
    "N_GRID",
    "P_TAUS",
    "check_model",
    "claims_report",
    "run_claims",
    "shown",
    "to_markdown",
]
