"""The workflow built once per test session (closed forms, claims, the tiny language model), in a
temporary copy, with the scenario of ``.test/`` as anyone runs it; the workflow and notebook tests share it."""

from __future__ import annotations

import time

import pytest
from workflow_helpers import SCENARIO, Built, copy_workflow, snakemake


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    """The workflow built once (``snakemake all``) with the small scenario; tests must not change it."""
    workdir = copy_workflow(tmp_path_factory.mktemp("workflow"))
    started = time.perf_counter()
    snakemake(workdir, "--cores", "2", "all", "--configfile", *SCENARIO, timeout=1800)
    return Built(workdir, SCENARIO, time.perf_counter() - started)
