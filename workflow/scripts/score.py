"""Snakemake script for rules ``score`` and ``score_user``: one reward for every sample of one prompt."""

import os
import sys

sys.stderr = open(snakemake.log[0], "w")
# A user's `module:function` reward next to the config imports here as it did when the DAG was checked.
sys.path.insert(0, os.getcwd())

from bonkl.files.atomic import write_table
from bonkl.files.intermediates import read_samples_file
from bonkl.lm.reward_spec import RewardSpec
from bonkl.pipeline.errors import one_line_errors
from bonkl.pipeline.estimate_step import score_samples

one_line_errors()

# Built-in rewards have no `reward` param (their jobs' params stay as they were); the user's carry their spec.
reward = RewardSpec.from_config(snakemake.wildcards.reward, snakemake.params.get("reward"))
samples = read_samples_file(snakemake.input.samples)
scores = score_samples(samples, reward, snakemake.params.reference, prompt=snakemake.params.get("prompt"))
write_table(scores, snakemake.output[0])
