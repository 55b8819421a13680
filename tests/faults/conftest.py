"""Fixtures of the fault-injection tests: the package's tiny random model on disk and the reference
pool of one sampling job."""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_helpers import run_sampling_here


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    pytest.importorskip("torch")
    from bonkl.lm.tiny import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def reference_pool(tiny_model, tmp_path_factory) -> Path:
    """The pool of JOB drawn in one go, uninterrupted (what every faulted run must reproduce)."""
    import torch

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("reference") / "P1.parquet"
    run_sampling_here(tiny_model, out)
    return out
