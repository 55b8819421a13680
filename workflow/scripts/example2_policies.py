"""Rule example2_data (Figures 7 and 8): Example 2, the three solution families of a three-outcome model.

best-of-n over real n >= 1 (Lemma 2.3), rewind-and-repeat over a continuous threshold q in [0, 1)
(Lemma 6.1), the optimal pi_beta over beta (eq. 2 with the calibrated reward), and the reference.
Figure 7 (output ``simplex``) gets the policies: family, parameter_name, parameter, pi_y1..pi_y3.
Figure 8 (output ``tradeoff``) gets family, parameter_name, parameter, kl, win_rate (Lemma 5.1).
"""

import sys

sys.stderr = open(snakemake.log[0], "w")

import numpy as np
import pandas as pd

import bonkl
from bonkl.files.atomic import write_table
from bonkl.pipeline.tradeoffs import tradeoff_rows

settings = snakemake.params.settings
p = np.asarray(settings["masses"], dtype=np.float64)

n = np.geomspace(1, settings["n_max"], settings["num_n"])
# Thresholds: evenly spaced, plus the outcome boundaries F(y1), F(y2) where the path turns.
q = np.unique(np.concatenate([np.linspace(0, 1, settings["num_q"], endpoint=False), np.cumsum(p)[:-1]]))
beta = np.geomspace(settings["beta_max"], settings["beta_min"], settings["num_beta"])

families = [
    ("reference", "none", np.array([np.nan]), p[None, :]),
    ("best_of_n", "n", n, bonkl.bon_pmf(p, n)),
    ("rewind_repeat", "q", q, bonkl.rr_pmf(p, q)),
    ("optimal", "beta", beta, bonkl.optimal_policy(p, beta)),
]
simplex = [
    pd.DataFrame(
        {
            "family": family,
            "parameter_name": name,
            "parameter": values,
            "pi_y1": rho[:, 0],
            "pi_y2": rho[:, 1],
            "pi_y3": rho[:, 2],
        }
    )
    for family, name, values, rho in families
]
tradeoff = tradeoff_rows(p, families)
for family, part in tradeoff.groupby("family", sort=False):
    print(
        f"{family}: {len(part)} policies; largest KL {part['kl'].max():.4f}, "
        f"largest win rate {part['win_rate'].max():.4f}",
        file=sys.stderr,
    )

write_table(pd.concat(simplex, ignore_index=True), snakemake.output.simplex)
write_table(tradeoff, snakemake.output.tradeoff)
