"""The ``sample`` rule: draw a prompt's pool in shards, resumable, written atomically.

Each shard has its own seed derived from ``(seed, prompt set, prompt id, shard)``, so the pool is the
same whether the job ran in one go or was killed and resumed; finished shards are kept and not
redrawn. A manifest guards against reusing shards drawn with other settings (the batch size is
not one: the sampler's draws do not depend on it).
"""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_path, write_table

SAMPLE_COLUMNS = ["prompt_id", "sample_index", "token_ids", "text", "logprob", "num_tokens", "finished"]


def shard_seed(seed: int, prompt_key: str, shard: int) -> int:
    """A 63-bit seed for one shard, stable across runs and platforms."""
    entropy = [int(seed), zlib.crc32(prompt_key.encode("utf-8")), int(shard)]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def canonical_logprob(samples: pd.DataFrame) -> pd.Series:
    """One log-probability per distinct token sequence: that of its first draw.

    Incremental decoding in different batches can differ in the last bits; the pool must not
    split one outcome into two.
    """
    keys = samples["token_ids"].map(lambda ids: " ".join(map(str, ids)))
    return samples.groupby(keys, sort=False)["logprob"].transform("first")


def _manifest_matches(shard_dir: Path, manifest: dict) -> bool:
    path = shard_dir / "manifest.json"
    return path.is_file() and json.loads(path.read_text()) == manifest


def run_sampling(model_spec: dict, prompt: dict, prompt_key: str, out_path, *, num_samples: int,
                 max_new_tokens: int, seed: int, batch_size: int, shard_size: int,
                 progress: bool = True) -> pd.DataFrame:
    """Draw ``num_samples`` responses to ``prompt`` and write them to ``out_path`` (Parquet)."""
    from ..lm.load import load_model
    from ..lm.prompts import chat_prompt_ids
    from ..lm.sampling import sample_responses

    out_path = Path(out_path)
    shard_dir = out_path.with_name(out_path.name + ".shards")
    manifest = {"model": model_spec, "prompt": prompt["text"], "prompt_key": prompt_key,
                "max_new_tokens": max_new_tokens, "seed": seed, "shard_size": shard_size}
    if shard_dir.exists() and not _manifest_matches(shard_dir, manifest):
        shutil.rmtree(shard_dir)
    shard_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(shard_dir / "manifest.json") as partial:
        partial.write_text(json.dumps(manifest, indent=1, sort_keys=True))

    starts = range(0, num_samples, shard_size)
    missing = [s for s in starts if not (shard_dir / f"{s:09d}.parquet").exists()]
    if missing:
        model, tokenizer = load_model(model_spec)
        prompt_ids = chat_prompt_ids(tokenizer, prompt["text"])
        for start in missing:
            count = min(shard_size, num_samples - start)
            frame = sample_responses(model, tokenizer, prompt_ids, count, max_new_tokens,
                                     shard_seed(seed, prompt_key, start // shard_size), batch_size,
                                     progress=progress)
            frame["sample_index"] = frame["sample_index"] + start
            write_table(frame, shard_dir / f"{start:09d}.parquet")

    samples = pd.concat([pd.read_parquet(shard_dir / f"{s:09d}.parquet") for s in starts],
                        ignore_index=True)
    samples["token_ids"] = samples["token_ids"].map(lambda ids: [int(i) for i in ids])
    samples["logprob"] = canonical_logprob(samples).astype(np.float64)
    samples.insert(0, "prompt_id", prompt["id"])
    samples = samples[SAMPLE_COLUMNS]
    write_table(samples, out_path)
    shutil.rmtree(shard_dir)
    return samples
