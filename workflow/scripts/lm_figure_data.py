"""Snakemake script for rule ``lm_figure_data``: the numbers one language-model figure plots."""

import sys

sys.stderr = open(snakemake.log[0], "w")

import pandas as pd

from bonkl.pipeline.atomic import write_table
from bonkl.plotting.estimates import plotted_table

spec = snakemake.params.spec
table = pd.read_csv(snakemake.input.table)
chosen = table[
    (table["prompt_set"] == spec["prompt_set"])
    & (table["reward"] == spec["reward"])
    & (table["tilt"] == snakemake.params.band_tilt)
]
write_table(plotted_table(chosen), snakemake.output[0])
