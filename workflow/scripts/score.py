"""Snakemake script for rule ``score``: one reward for every sample of one prompt."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from bonkl.pipeline.atomic import write_table
from bonkl.pipeline.estimate_step import score_samples
from bonkl.pipeline.intermediates import one_line_errors, read_samples_file

one_line_errors()

samples = read_samples_file(snakemake.input.samples)
scores = score_samples(samples, snakemake.wildcards.reward, snakemake.params.reference)
write_table(scores, snakemake.output[0])
