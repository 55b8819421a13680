"""The workflow, on top of everything else: Snakefile glue and the rules' steps.

Glue (read while Snakemake builds the DAG, no torch): :mod:`~bonkl.pipeline.paths` (every file a
rule writes, logs included), :mod:`~bonkl.pipeline.code_deps` (the package files each rule's script
imports), :mod:`~bonkl.pipeline.workflow_config` (the config typed, validated and checked),
:mod:`~bonkl.pipeline.lm_targets` (the language-model files, checked before any job).

Steps (each Snakemake script is one call into them): :mod:`~bonkl.pipeline.sample_step`,
:mod:`~bonkl.pipeline.estimate_step`, :mod:`~bonkl.pipeline.tradeoffs` and
:mod:`~bonkl.pipeline.grids` for the closed-form figures; :mod:`~bonkl.pipeline.errors` is how a
script reports a bad input.
"""
