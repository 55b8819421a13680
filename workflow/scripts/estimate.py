"""Snakemake script for rule ``estimate``: exact pool estimators for one prompt and reward."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from bonkl.pipeline.atomic import write_table
from bonkl.pipeline.estimate_step import estimate_prompt
from bonkl.pipeline.intermediates import one_line_errors, read_rewards_file, read_samples_file

one_line_errors()

samples = read_samples_file(snakemake.input.samples)
rewards = read_rewards_file(snakemake.input.rewards, samples)
table, distribution = estimate_prompt(samples, rewards, snakemake.params.n, **snakemake.params.estimate)
write_table(table, snakemake.output.estimates)
write_table(distribution, snakemake.output.distribution)
