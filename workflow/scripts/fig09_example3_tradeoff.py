"""Rule closed_form_data: Figure 9, Example 3 (outcomes of vanishing mass), win rate against KL.

Closed forms of Section 7: best-of-n over n, rewind-and-repeat over p_tau, the optimal pi_beta over
beta. Columns: family, parameter_name, parameter, kl, win_rate.
"""

import sys

sys.stderr = open(snakemake.log[0], "w")

import numpy as np
import pandas as pd

import bonkl
from bonkl.files.atomic import write_table

settings = snakemake.params.settings
count = settings["num_points"]
grids = [
    ("best_of_n", "n", np.geomspace(1, settings["n_max"], count), bonkl.example3_bon),
    ("rewind_repeat", "p_tau", np.geomspace(1, settings["p_tau_min"], count), bonkl.example3_rr),
    ("optimal", "beta", np.geomspace(settings["beta_max"], settings["beta_min"], count), bonkl.example3_optimal),
]
parts = []
for family, name, values, closed_form in grids:
    kl, win = closed_form(values)
    parts.append(
        pd.DataFrame({"family": family, "parameter_name": name, "parameter": values, "kl": kl, "win_rate": win})
    )
    print(f"{family}: KL up to {kl.max():.4f}, win rate up to {win.max():.4f}", file=sys.stderr)
write_table(pd.concat(parts, ignore_index=True), snakemake.output[0])
