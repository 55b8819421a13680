"""Snakemake script for rule ``estimate``: exact pool estimators for one prompt and reward."""

import sys

sys.stderr = open(snakemake.log[0], "w")

import pandas as pd

from bonkl.pipeline.atomic import write_table
from bonkl.pipeline.estimate_step import estimate_prompt

table, distribution = estimate_prompt(
    pd.read_parquet(snakemake.input.samples), pd.read_parquet(snakemake.input.rewards), snakemake.params.n)
write_table(table, snakemake.output.estimates)
write_table(distribution, snakemake.output.distribution)
