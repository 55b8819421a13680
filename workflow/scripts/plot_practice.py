"""Snakemake script for rule ``practice_plot``: draw a figure of best-of-n over a sampler variant from its CSV."""

import sys

sys.stderr = open(snakemake.log[0], "w")

import pandas as pd

from bonkl.plotting import save_figure
from bonkl.plotting.practice import plot_practice

frame = pd.read_csv(snakemake.input.csv, dtype={"prompt_id": str})
fig = plot_practice(frame, title=snakemake.params.title, **snakemake.params.options)
save_figure(fig, snakemake.output.png, snakemake.output.pdf, dpi=snakemake.params.dpi)
