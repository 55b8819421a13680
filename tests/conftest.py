"""The workflow built once per test session (closed forms, claims, the tiny language model), in a
temporary copy with the small config; the workflow and notebook tests share it."""

from __future__ import annotations

import time

import pytest
from workflow_helpers import SMALL_CONFIG, Built, copy_workflow, snakemake, write_config


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    """The workflow built once (``snakemake all``) with the small config; tests must not change it."""
    workdir = copy_workflow(tmp_path_factory.mktemp("workflow"))
    write_config(workdir / "small.yaml", SMALL_CONFIG)
    started = time.perf_counter()
    snakemake(workdir, "--cores", "2", "all", "--configfile", "small.yaml")
    return Built(workdir, "small.yaml", time.perf_counter() - started)
