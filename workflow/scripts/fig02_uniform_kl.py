"""Rule closed_form_data: Figure 2, uniform models of several alphabet sizes, KL against n.

Columns: alphabet_size, n, kl_exact (Lemma 2.3), kl_bon (eq. 4), kl_alternate_mean (E of eq. 23),
kl_estimator_mean (E of eq. 25). For a uniform model both estimators are deterministic.
"""

import sys

sys.stderr = open(snakemake.log[0], "w")

import numpy as np
import pandas as pd

import bonkl
from bonkl.files.atomic import write_table
from bonkl.pipeline.grids import integer_n_grid

settings = snakemake.params.settings
n = integer_n_grid(settings["n_max"], settings["num_n"])

parts = []
for size in settings["alphabet_sizes"]:
    p = np.full(size, 1.0 / size)
    parts.append(
        pd.DataFrame(
            {
                "alphabet_size": size,
                "n": n.astype(np.int64),
                "kl_exact": bonkl.kl_exact(p, n),
                "kl_bon": bonkl.kl_bon(n),
                "kl_alternate_mean": bonkl.expected_kl_alternate(p, n),
                "kl_estimator_mean": bonkl.expected_kl_estimator(p, n),
            }
        )
    )
    print(
        f"L = {size}: exact KL at n = {n[-1]:g} is {parts[-1]['kl_exact'].iloc[-1]:.4f} (log L = {np.log(size):.4f})",
        file=sys.stderr,
    )
write_table(pd.concat(parts, ignore_index=True), snakemake.output[0])
