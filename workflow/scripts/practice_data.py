"""Snakemake script for rule ``practice_data``: the numbers of a figure of best-of-n over a sampler variant."""

import sys

sys.stderr = open(snakemake.log[0], "w")

import pandas as pd

from bonkl.files.atomic import write_table
from bonkl.plotting.practice import REFERENCE, practice_table

spec = snakemake.params.spec


def chosen(path):
    table = pd.read_parquet(path)
    return table[table["prompt_id"].isin(spec["prompts"])]


tables = {REFERENCE: chosen(snakemake.input.reference), spec["label"]: chosen(snakemake.input.variant)}
write_table(practice_table(tables), snakemake.output[0])
