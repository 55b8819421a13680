"""Rule closed_form_data: Figure 1, Example 1 (two equiprobable outcomes), KL against n.

Columns: n, kl_exact (eq. 5), kl_bon (eq. 4), kl_estimator_mean (E[KLhat], eq. 25).
"""

import sys

sys.stderr = open(snakemake.log[0], "w")

import numpy as np
import pandas as pd

import bonkl
from bonkl.files.atomic import write_table
from bonkl.pipeline.grids import integer_n_grid

settings = snakemake.params.settings
# Integer n, log-spaced, with every power of two (Example 1 changes fastest at small n).
n = integer_n_grid(settings["n_max"], settings["num_n"], powers_of_two=True)
p = np.array([0.5, 0.5])

exact = bonkl.example1_kl(n)
# The closed form (eq. 5) and the general exact KL (Lemma 2.3) must agree.
np.testing.assert_allclose(exact, bonkl.kl_exact(p, n), rtol=1e-10, atol=1e-14)

table = pd.DataFrame(
    {
        "n": n.astype(np.int64),
        "kl_exact": exact,
        "kl_bon": bonkl.kl_bon(n),
        "kl_estimator_mean": bonkl.expected_kl_estimator(p, n),
    }
)
write_table(table, snakemake.output[0])
print(
    f"{len(table)} values of n in [1, {settings['n_max']}]; exact KL at n_max: "
    f"{table['kl_exact'].iloc[-1]:.6f} (log 2 = {np.log(2):.6f})",
    file=sys.stderr,
)
