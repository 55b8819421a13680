"""Rule closed_form_data: Figure 6, Example 1, win rate of best-of-n against its KL.

Columns: n, kl_exact (eq. 5), kl_bon (eq. 4), win_rate (Lemma 5.2: 3/4 - 2^-n/2).
"""

import sys

sys.stderr = open(snakemake.log[0], "w")

import numpy as np
import pandas as pd

import bonkl
from bonkl.files.atomic import write_table
from bonkl.pipeline.grids import integer_n_grid

settings = snakemake.params.settings
n = integer_n_grid(settings["n_max"], settings["num_n"], powers_of_two=True)
p = np.array([0.5, 0.5])

win = bonkl.example1_win_rate(n)
# The closed form and Lemma 5.2 on the two-outcome model must agree.
np.testing.assert_allclose(win, [bonkl.bon_win_rate(p, k) for k in n], rtol=1e-12)

table = pd.DataFrame(
    {
        "n": n.astype(np.int64),
        "kl_exact": bonkl.example1_kl(n),
        "kl_bon": bonkl.kl_bon(n),
        "win_rate": win,
    }
)
write_table(table, snakemake.output[0])
print(
    f"n up to {n[-1]:g}: win rate {win[-1]:.6f} (limit 3/4) at exact KL {table['kl_exact'].iloc[-1]:.6f} "
    f"(limit log 2), eq. 4 says {table['kl_bon'].iloc[-1]:.4f}",
    file=sys.stderr,
)
