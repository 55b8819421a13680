"""The ``sample`` rule: draw a prompt's pool in shards, resumable, written atomically.

Each shard has its own seed derived from ``(seed, prompt set, prompt id, shard)``, so the pool is the
same whether the job ran in one go or was killed and resumed; finished shards are kept and not
redrawn. A manifest records everything the draws depend on (the model spec and a fingerprint of its
files, the prompt, the sampling settings (:class:`bonkl.lm.settings.SamplingSettings`: the pool
size, the length cap, the seed, the shard size and the sampler's temperature, top-k, top-p and
min-p) and a hash of the sampler's code; not the batch size, which changes draws only by float
rounding at CDF boundaries, not their distribution): shards drawn under another manifest are
discarded. Every shard is checked when read (columns, row count, sample indices, both
log-probabilities): a corrupt or truncated one is reported and drawn again. A lock makes concurrent
runs of one job take turns, and a run that finds the finished pool with its own manifest reuses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from ..files.atomic import atomic_path, write_text
from ..files.intermediates import (
    LOGPROB_COLUMNS,
    SAMPLE_COLUMNS,
    SHARD_COLUMNS,
    check_shard,
    read_manifest,
    read_samples_file,
    write_pool,
)
from ..files.keys import sequence_keys
from ..lm.settings import SamplingSettings
from .code_deps import package_files

# The modules the draws depend on (paths relative to the package); code_fingerprint follows
# their imports within the package.
SAMPLER_CODE = ("lm/sampling.py", "lm/prompts.py", "lm/load.py")


def shard_seed(seed: int, prompt_key: str, shard: int) -> int:
    """A 63-bit seed for one shard, stable across runs and platforms."""
    entropy = [int(seed), zlib.crc32(prompt_key.encode("utf-8")), int(shard)]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def canonical_logprob(samples: pd.DataFrame, column: str = "logprob") -> pd.Series:
    """One log-probability per distinct token sequence: that of its first draw.

    Incremental decoding in different batches can differ in the last bits; the pool must not
    split one outcome into two.
    """
    keys = sequence_keys(samples)
    return samples.groupby(keys, sort=False)[column].transform("first")


def model_fingerprint(model_spec: dict) -> list:
    """Name, size and modification time of the model's files (a local folder or file); a hub id
    stands for itself. Replacing the weights at the same path then invalidates the shards."""
    path = Path(os.path.expanduser(str(model_spec.get("path", ""))))
    if path.is_dir() and model_spec.get("gguf_file"):
        path = path / model_spec["gguf_file"]
    files = [path] if path.is_file() else sorted(p for p in path.glob("*") if p.is_file()) if path.is_dir() else []
    return [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in files]


def code_fingerprint() -> str:
    """A hash of the sampler's code: SAMPLER_CODE and every package module it imports."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in package_files(*SAMPLER_CODE, package=package):
        digest.update(path.relative_to(package).as_posix().encode("utf-8") + b"\0" + path.read_bytes())
    return digest.hexdigest()


def sampling_manifest(model_spec: dict, prompt: dict, prompt_key: str, settings: SamplingSettings) -> dict:
    """Everything a pool depends on (see the module docstring): ``asdict(settings)`` is its sampling part."""
    return {
        "model": model_spec,
        "model_files": model_fingerprint(model_spec),
        "prompt": prompt["text"],
        "prompt_id": prompt["id"],
        "prompt_key": prompt_key,
        **asdict(settings),
        "sampler_code": code_fingerprint(),
    }


def _note(message: str) -> None:
    print(f"bonkl sample: {message}", file=sys.stderr, flush=True)


def _read_shard(path: Path, start: int, count: int) -> pd.DataFrame | None:
    """The shard, or None (reported) when it is absent, unreadable or wrong."""
    if not path.exists():
        return None
    try:
        frame = pd.read_parquet(path)
        problem = check_shard(frame, start, count)
    except Exception as error:  # noqa: BLE001 - any damage to a temporary file means: draw it again
        problem = f"unreadable ({type(error).__name__}: {str(error)[:200]})"
    if problem is None:
        return frame
    _note(f"shard {path} is corrupt or truncated ({problem}); drawing it again")
    path.unlink(missing_ok=True)
    return None


def _shard_manifest_matches(shard_dir: Path, manifest: dict) -> bool:
    path = shard_dir / "manifest.json"
    try:
        return path.is_file() and json.loads(path.read_text()) == manifest
    except (OSError, ValueError):
        return False


def run_sampling(
    model_spec: dict,
    prompt: dict,
    prompt_key: str,
    out_path,
    settings: SamplingSettings,
    *,
    batch_size: int,
    progress: bool = True,
) -> pd.DataFrame:
    """Draw ``settings.num_samples`` responses to ``prompt`` and write them to ``out_path`` (Parquet);
    ``batch_size`` changes only the speed (it is not part of the manifest)."""
    from filelock import FileLock

    if not isinstance(settings, SamplingSettings):
        raise TypeError(f"settings must be a SamplingSettings, got {type(settings).__name__}")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    manifest = sampling_manifest(model_spec, prompt, prompt_key, settings)
    with FileLock(str(out_path.with_name(f".{out_path.name}.lock"))):  # concurrent runs take turns
        if out_path.is_file() and read_manifest(out_path) == manifest:
            return read_samples_file(out_path)  # another run of this very job finished it
        return _draw(manifest, settings, prompt, prompt_key, out_path, batch_size, progress)


def _draw(
    manifest: dict,
    settings: SamplingSettings,
    prompt: dict,
    prompt_key: str,
    out_path: Path,
    batch_size: int,
    progress: bool,
) -> pd.DataFrame:
    from ..lm.load import SettingError, load_model
    from ..lm.prompts import chat_prompt_ids
    from ..lm.sampling import sample_responses

    num_samples, shard_size = settings.num_samples, settings.shard_size
    shard_dir = out_path.with_name(out_path.name + ".shards")
    if shard_dir.exists() and not _shard_manifest_matches(shard_dir, manifest):
        _note(f"{shard_dir} was drawn with other settings; drawing the pool again")
        shutil.rmtree(shard_dir)
    shard_dir.mkdir(parents=True, exist_ok=True)
    write_text(json.dumps(manifest, indent=1, sort_keys=True), shard_dir / "manifest.json")

    def shard(start: int) -> tuple[Path, int, int]:
        """The shard's file, first sample index and size."""
        return shard_dir / f"{start:09d}.parquet", start, min(shard_size, num_samples - start)

    starts = range(0, num_samples, shard_size)
    missing = [start for start in starts if _read_shard(*shard(start)) is None]
    if missing:
        try:
            model, tokenizer = load_model(manifest["model"])
        except SettingError as error:  # the workflow's name for the model spec
            raise ValueError(f"config lm.model.{error}") from None
        prompt_ids = chat_prompt_ids(tokenizer, prompt["text"])
        for start in missing:
            path, _, count = shard(start)
            frame = sample_responses(
                model,
                tokenizer,
                prompt_ids,
                count,
                settings.max_new_tokens,
                shard_seed(settings.seed, prompt_key, start // shard_size),
                batch_size,
                progress=progress,
                sampler=settings.sampler,
            )
            frame["sample_index"] = frame["sample_index"] + start
            with atomic_path(path) as partial:
                frame[SHARD_COLUMNS].to_parquet(partial, index=False)

    # Every shard read back from disk, as a resumed run reads them: the same pool, byte for byte.
    frames = [_read_shard(*shard(start)) for start in starts]
    if any(frame is None for frame in frames):
        raise RuntimeError(f"a shard in {shard_dir} could not be read back after it was written")
    samples = pd.concat(frames, ignore_index=True)
    samples["token_ids"] = samples["token_ids"].map(lambda ids: [int(i) for i in ids])
    for column in LOGPROB_COLUMNS:
        samples[column] = canonical_logprob(samples, column).astype(np.float64)
    samples.insert(0, "prompt_id", prompt["id"])
    samples = samples[SAMPLE_COLUMNS]
    write_pool(samples, out_path, manifest)
    shutil.rmtree(shard_dir)
    return samples
