"""Helpers of the fault-injection tests: one small sampling job, run here or in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# One small sampling job: 6 shards of 6 samples of up to 8 tokens on the tiny model, in batches of 4.
JOB = {"num_samples": 36, "max_new_tokens": 8, "seed": 3, "shard_size": 6}
BATCH_SIZE = 4
PROMPT = {"id": "P1", "text": "what is the capital of france?"}

# A subprocess that runs one sampling job; settings as JSON in argv[1].
RUNNER = """
import json, sys
import torch
torch.set_num_threads(1)
from bonkl.lm.settings import SamplingSettings
from bonkl.pipeline.sample_step import run_sampling
a = json.loads(sys.argv[1])
settings = SamplingSettings(**a["job"])
key = "set/" + a["prompt"]["id"]
run_sampling({"path": a["model"]}, a["prompt"], key, a["out"], settings, batch_size=a["batch_size"], progress=False)
"""


def sampling_command(model: Path, out: Path, batch_size: int = BATCH_SIZE, **job) -> list[str]:
    settings = {"model": str(model), "prompt": PROMPT, "out": str(out), "job": {**JOB, **job}, "batch_size": batch_size}
    return [sys.executable, "-c", RUNNER, json.dumps(settings)]


def start_sampling(model: Path, out: Path, **job) -> subprocess.Popen:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1")
    return subprocess.Popen(
        sampling_command(model, out, **job), env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def run_sampling_here(model: Path, out: Path, batch_size: int = BATCH_SIZE, **job):
    """``job`` overrides fields of :class:`bonkl.lm.settings.SamplingSettings` (``sampler`` included)."""
    from bonkl.lm.settings import SamplingSettings
    from bonkl.pipeline.sample_step import run_sampling

    settings = SamplingSettings(**{**JOB, **job})
    return run_sampling(
        {"path": str(model)}, PROMPT, f"set/{PROMPT['id']}", out, settings, batch_size=batch_size, progress=False
    )
