"""Snakemake script for rule ``estimate``: the estimate table of one prompt set and reward."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from bonkl.files.atomic import write_table
from bonkl.files.intermediates import read_rewards_file, read_samples_file
from bonkl.pipeline.errors import one_line_errors
from bonkl.pipeline.estimate_step import estimate_set

one_line_errors()

samples = [read_samples_file(path) for path in snakemake.input.samples]
rewards = [read_rewards_file(path, pool) for path, pool in zip(snakemake.input.rewards, samples)]
table = estimate_set(samples, rewards, snakemake.params.n, threads=snakemake.threads, **snakemake.params.estimate)
write_table(table, snakemake.output[0])
