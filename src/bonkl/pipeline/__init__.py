"""The workflow's steps as plain functions: each Snakemake script is one call into this package."""
