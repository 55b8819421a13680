"""Snakemake script for rule ``lm_figure_data``: the numbers one language-model figure plots."""

import sys

sys.stderr = open(snakemake.log[0], "w")

import pandas as pd

from bonkl.files.atomic import write_table
from bonkl.plotting.estimates import figure_table

spec = snakemake.params.spec


def chosen(table):
    return table[(table["prompt_set"] == spec["prompt_set"]) & (table["reward"] == spec["reward"])]


table = chosen(pd.read_csv(snakemake.input.table, dtype={"prompt_id": str}))
write_table(figure_table(table, chosen(pd.read_csv(snakemake.input.summary))), snakemake.output[0])
