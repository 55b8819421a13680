"""Rule closed_form_data: Figure 13 (beyond the paper), on Example 2's model and a model with many outcomes.

Part ``tradeoff``: win rate against KL of five selection rules, every policy exact: best-of-n
(Lemma 2.3, real n), Best-of-Poisson (bonkl.bop_pmf, mu = n - 1), soft best-of-n (bonkl.soft_bon_pmf
with the calibrated reward as r), rewind-and-repeat (Lemma 6.1, continuous threshold) and the
optimal pi_beta. Columns: part, model, family, parameter_name, parameter, kl, win_rate.
Part ``divergence``: Renyi (several alpha and inf), chi-square and total variation of best-of-n,
exact, against the Mroueh (2024) bounds. Columns: part, model, divergence, n, exact, bound (and
alphabet_size, the model's number of outcomes, on every row).
"""

import sys

sys.stderr = open(snakemake.log[0], "w")

import numpy as np
import pandas as pd

from bonkl.files.atomic import write_table
from bonkl.pipeline.tradeoffs import divergence_rows, many_outcomes_model, selection_rules, tradeoff_rows

settings = snakemake.params.settings
models = {
    "example2": np.asarray(settings["example2_masses"], dtype=np.float64),
    "many_outcomes": many_outcomes_model(**settings["many_outcomes"]),
}
parts = []
for name, p in models.items():
    rules = selection_rules(
        p, n_max=settings["n_max"], num_points=settings["num_points"], soft_lambda=settings["soft_lambda"]
    )
    tradeoff = tradeoff_rows(p, rules)
    divergence = divergence_rows(
        p, n_max=settings["n_max"], num_points=settings["num_points"], alphas=settings["renyi_alphas"]
    )
    label = {"model": name, "alphabet_size": p.size}
    parts += [tradeoff.assign(part="tradeoff", **label), divergence.assign(part="divergence", **label)]
    worst = (divergence["bound"] - divergence["exact"]).min()
    bon = tradeoff[tradeoff["family"] == "best_of_n"]
    print(
        f"{name}: L = {p.size}; best-of-n at n = {settings['n_max']:g}: KL {bon['kl'].iloc[-1]:.4f}, "
        f"win rate {bon['win_rate'].iloc[-1]:.4f}; "
        f"smallest bound - exact {worst:.3e} (>= 0: every bound holds)",
        file=sys.stderr,
    )
    if worst < -1e-9:
        raise SystemExit(f"a Mroueh (2024) bound is violated on {name}: {worst}")
write_table(pd.concat(parts, ignore_index=True), snakemake.output[0])
