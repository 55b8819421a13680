"""Snakemake script for rule ``aggregate``: tilted min/max and means into one tidy table."""

import sys

sys.stderr = open(snakemake.log[0], "w")

import pandas as pd

from bonkl.pipeline.atomic import write_table
from bonkl.pipeline.estimate_step import aggregate

table = aggregate([pd.read_parquet(path) for path in snakemake.input.estimates],
                  [pd.read_parquet(path) for path in snakemake.input.distributions],
                  snakemake.params.labels, snakemake.params.tilts)
write_table(table, snakemake.output[0])
