"""Snakemake script for rule ``sample``: one prompt's pool of reference samples."""

import sys

sys.stderr = open(snakemake.log[0], "w")

import torch

from bonkl.lm.settings import SamplingSettings
from bonkl.pipeline.errors import one_line_errors
from bonkl.pipeline.sample_step import run_sampling

one_line_errors()

torch.set_num_threads(snakemake.threads)
run_sampling(
    snakemake.params.model,
    snakemake.params.prompt,
    f"{snakemake.wildcards.prompt_set}/{snakemake.wildcards.prompt_id}",
    snakemake.output[0],
    SamplingSettings.from_config(snakemake.params.sampling),
    batch_size=snakemake.config["lm"]["model"]["batch_size"],
    progress=False,
)
