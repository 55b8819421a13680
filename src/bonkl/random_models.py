"""Random reference models for the claims table (:mod:`bonkl.claims`): varied, with extreme masses.

The order of the masses is the reward order:

* ``dirichlet``: symmetric Dirichlet, concentration log-uniform in [0.05, 10];
* ``zipf``: masses proportional to ``k^-s``, ``s`` uniform in [0.3, 3];
* ``near_uniform``: ``1/L (1 + delta Z)``, ``delta`` log-uniform in [1e-12, 0.3] (or exactly uniform);
* ``dominant``: one outcome with mass in [0.5, 1 - 1e-6], the rest Dirichlet;
* ``tiny``: a Dirichlet or Zipf model in which a random share of the outcomes has masses
  log-uniform in [1e-300, 1e-20] (exactly 1e-300 included, sometimes on the top outcome);

with alphabet sizes ``L`` log-uniform in [2, 1000] (``tiny`` may add a 1e-300 top: 1001), and the
reward order a random permutation (60%), masses increasing with reward (20%: the top outcome is the
likeliest) or decreasing (20%).
Every mass is strictly positive (a zero mass is not an outcome). Model ``i`` is drawn from
``numpy.random.default_rng([seed, i])`` alone, so results do not depend on the number of workers.
"""

from __future__ import annotations

import numpy as np

FAMILIES = ("dirichlet", "zipf", "near_uniform", "dominant", "tiny")


def random_model(rng: np.random.Generator) -> tuple[str, np.ndarray]:
    """One random reference model: ``(family, masses in increasing reward order)``, all masses > 0."""
    family = FAMILIES[rng.integers(len(FAMILIES))]
    size = int(np.clip(np.round(np.exp(rng.uniform(np.log(2), np.log(1000)))), 2, 1000))
    if family == "dirichlet":
        p = _dirichlet(rng, size, np.exp(rng.uniform(np.log(0.05), np.log(10))))
    elif family == "zipf":
        p = np.arange(1, size + 1, dtype=np.float64) ** -rng.uniform(0.3, 3.0)
    elif family == "near_uniform":
        delta = 0.0 if rng.random() < 0.2 else np.exp(rng.uniform(np.log(1e-12), np.log(0.3)))
        p = 1.0 + delta * np.clip(rng.standard_normal(size), -3, 3)
    elif family == "dominant":
        top = 1.0 - np.exp(rng.uniform(np.log(1e-6), np.log(0.5)))
        rest = _dirichlet(rng, size - 1, np.exp(rng.uniform(np.log(0.05), np.log(10))))
        p = np.concatenate(([top], (1.0 - top) * rest))
    else:  # tiny
        base = (
            _dirichlet(rng, size, np.exp(rng.uniform(np.log(0.1), np.log(10))))
            if rng.random() < 0.5
            else np.arange(1, size + 1, dtype=np.float64) ** -rng.uniform(0.3, 2.0)
        )
        base = base / base.sum()
        share = rng.uniform(0.05, 0.95)
        tiny = rng.random(size) < share
        tiny[rng.integers(size)] = False  # keep at least one ordinary mass
        base[tiny] = 10.0 ** -rng.uniform(20, 300, tiny.sum())
        base[tiny & (rng.random(size) < 0.2)] = 1e-300
        p = base
    p = p / p.sum()
    order = rng.random()
    if order < 0.6:
        p = rng.permutation(p)
    elif order < 0.8:
        p = np.sort(p)
    else:
        p = np.sort(p)[::-1]
    if family == "tiny" and rng.random() < 0.25:
        p = np.append(p, 1e-300)  # the top outcome is the tiniest possible mass
    p = np.maximum(p, 1e-300)
    return family, p / p.sum()


def _dirichlet(rng, size, alpha):
    """Symmetric Dirichlet draw in log space (small concentrations underflow ``rng.dirichlet``)."""
    log_gamma = np.log(rng.gamma(alpha + 1.0, size=size)) + np.log(rng.random(size)) / alpha
    log_gamma -= log_gamma.max()
    return np.maximum(np.exp(log_gamma), 1e-300)
