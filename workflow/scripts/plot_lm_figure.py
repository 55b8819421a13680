"""Snakemake script for rule ``lm_figure_plot``: draw one language-model figure from its CSV."""

import sys

sys.stderr = open(snakemake.log[0], "w")

import pandas as pd

from bonkl.plotting import save_figure
from bonkl.plotting.estimates import plot_figure_table

fig = plot_figure_table(
    pd.read_csv(snakemake.input.csv, dtype={"prompt_id": str}), title=snakemake.params.title, **snakemake.params.options
)
save_figure(fig, snakemake.output.png, snakemake.output.pdf, dpi=snakemake.params.dpi)
