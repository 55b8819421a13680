"""Snakemake script for rule ``score``: one reward for every sample of one prompt."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from bonkl.files.atomic import write_table
from bonkl.files.intermediates import read_samples_file
from bonkl.pipeline.errors import one_line_errors
from bonkl.pipeline.estimate_step import score_samples

one_line_errors()

samples = read_samples_file(snakemake.input.samples)
scores = score_samples(samples, snakemake.wildcards.reward, snakemake.params.reference)
write_table(scores, snakemake.output[0])
