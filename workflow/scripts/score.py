"""Snakemake script for rule ``score``: one reward for every sample of one prompt."""

import sys

sys.stderr = open(snakemake.log[0], "w")

import pandas as pd

from bonkl.pipeline.atomic import write_table
from bonkl.pipeline.estimate_step import score_samples

samples = pd.read_parquet(snakemake.input.samples)
scores = score_samples(samples, snakemake.wildcards.reward, snakemake.params.reference)
write_table(scores, snakemake.output[0])
