"""Snakemake script for rule ``aggregate``: one tidy table and the average over prompts."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from bonkl.files.atomic import write_table
from bonkl.files.intermediates import read_intermediate
from bonkl.pipeline.errors import one_line_errors
from bonkl.pipeline.estimate_step import aggregate

one_line_errors()

table, summary = aggregate(
    [read_intermediate(path, ["prompt_id", "n"]) for path in snakemake.input.estimates],
    snakemake.params.labels,
    snakemake.params.level,
)
write_table(table, snakemake.output.table)
write_table(summary, snakemake.output.summary)
