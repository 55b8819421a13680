"""Snakemake script for rule ``aggregate``: tilted min/max and means into one tidy table."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from bonkl.pipeline.atomic import write_table
from bonkl.pipeline.estimate_step import aggregate
from bonkl.pipeline.intermediates import one_line_errors, read_intermediate

one_line_errors()

table = aggregate(
    [read_intermediate(path, ["n"]) for path in snakemake.input.estimates],
    [read_intermediate(path, ["n"]) for path in snakemake.input.distributions],
    snakemake.params.labels,
    snakemake.params.tilts,
)
write_table(table, snakemake.output[0])
