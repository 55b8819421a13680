"""Rule closed_form_data: Figure 3, a few rare high-reward outcomes over a uniform alphabet.

Each panel's model has ``alphabet_size`` outcomes: the ``top_masses`` (highest reward first) on
top, the rest of the mass spread uniformly over the others. Columns: panel, alphabet_size,
top_masses (";"-joined, highest reward first), n, kl_exact, kl_bon, kl_alternate_mean,
kl_estimator_mean, tilt, kl_estimator_tilted_min / _max (eq. 133 at -tilt / +tilt of KLhat(eps_n),
eps_n the reference mass of a best-of-n draw).
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
tilt = float(settings["tilt"])


def model(alphabet_size, top_masses):
    """Masses in increasing reward order: the uniform rest, then the top outcomes, best last."""
    rest = (1.0 - sum(top_masses)) / (alphabet_size - len(top_masses))
    return np.concatenate([np.full(alphabet_size - len(top_masses), rest), np.asarray(top_masses[::-1])])


parts = []
for label, panel in settings["panels"].items():
    p = model(panel["alphabet_size"], panel["top_masses"])
    bands = np.array(
        [bonkl.tilted_mean(bonkl.kl_estimator(p, k), [-tilt, tilt], weights=bonkl.bon_pmf(p, k)) for k in n]
    )
    parts.append(
        pd.DataFrame(
            {
                "panel": label,
                "alphabet_size": panel["alphabet_size"],
                "top_masses": ";".join(f"{m:.6g}" for m in panel["top_masses"]),
                "n": n.astype(np.int64),
                "kl_exact": bonkl.kl_exact(p, n),
                "kl_bon": bonkl.kl_bon(n),
                "kl_alternate_mean": bonkl.expected_kl_alternate(p, n),
                "kl_estimator_mean": bonkl.expected_kl_estimator(p, n),
                "tilt": tilt,
                "kl_estimator_tilted_min": bands[:, 0],
                "kl_estimator_tilted_max": bands[:, 1],
            }
        )
    )
    print(
        f"panel {label}: L = {panel['alphabet_size']}, top masses {panel['top_masses']}; exact KL at "
        f"n = {n[-1]:g}: {parts[-1]['kl_exact'].iloc[-1]:.4f}",
        file=sys.stderr,
    )
write_table(pd.concat(parts, ignore_index=True), snakemake.output[0])
