"""End to end: a pool drawn by another engine, re-scored under the float32 reference model.

On the tests' tiny enumerable model (tests/lm/tiny_lm.py; two chat prompts), draw ``--samples``
responses with plain transformers ``generate(do_sample=True, top_p=0.9, top_k=0)`` in bfloat16
weights, prompts interleaved in batches of 1, 8, 64 and 500 (mixed prompts left-padded, so that
identical responses meet different batch compositions, as in a serving engine), keeping what such
an engine returns: the token ids and its own processed log-probabilities (``output_scores`` and
``compute_transition_scores(normalize_logits=True)``, the padding after each row's end-of-sequence
token masked; tests/lm/engine_pool.py). Then:

1. ``check_engine_logprobs``: the spread of the engine's log q over identical responses, and one
   canonical value per response (the first draw) so that the pool is consistent;
2. ``rescore_pool``: log pi (the estimators' ``logprob``) and log q under the float32 model, from
   batched full forward passes, one per distinct response;
3. ``compare_rescored``: the engine's log q against the float32 one; and log pi against an exact
   enumeration of every outcome.

Writes a CSV with ``prompt_id, token_ids`` (space-separated), ``logprob`` (float32 reference),
``sampler_logprob`` (the engine's, canonical per response), ``reward`` (-number of tokens) and
``sample_key`` (the token ids' text). About 25 s on 2 cores (mostly the 500 one-row generate calls).

    python benchmarks/rescore_demo.py --out results/rescore_demo.csv
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lm"))  # the tiny model and engine

from engine_pool import engine_copy, generate_pool  # noqa: E402
from exact import enumerate_pairs  # noqa: E402
from tiny_lm import build_model, build_tokenizer  # noqa: E402

from bonkl.lm.processors import SamplerSettings  # noqa: E402
from bonkl.lm.prompts import chat_prompt_ids  # noqa: E402
from bonkl.lm.rescore import check_engine_logprobs, compare_rescored, rescore_pool  # noqa: E402

MAX_NEW = 4
BATCHES = (1, 8, 64, 500)  # the engine's batch sizes, one quarter of the samples each


def draw(model, prompts: dict, num: int, top_p: float, seed: int) -> pd.DataFrame:
    """The bfloat16 engine's pool: prompt_id, token_ids, sampler_logprob (the engine's log q)."""
    order = list(np.random.default_rng(seed).choice(sorted(prompts), size=num))
    engine = engine_copy(model, torch.bfloat16)
    parts = [
        generate_pool(engine, prompts, order[i :: len(BATCHES)], MAX_NEW, top_p, seed=seed + i, batch=b)
        for i, b in enumerate(BATCHES)
    ]
    return pd.concat(parts, ignore_index=True)


def exact_error(model, prompts: dict, pool: pd.DataFrame) -> float:
    """Largest |logprob - log pi| against every outcome of the tiny model, enumerated."""
    exact = {
        pid: enumerate_pairs(model, p, MAX_NEW, [model.generation_config.eos_token_id]) for pid, p in prompts.items()
    }
    want = [exact[pid][tuple(ids)][0] for pid, ids in zip(pool["prompt_id"], pool["token_ids"])]
    return float(np.abs(pool["logprob"].to_numpy() - np.array(want)).max())


def table(pool: pd.DataFrame, canonical: pd.Series) -> pd.DataFrame:
    """The CSV's columns; token ids as space-separated text."""
    keys = pool["token_ids"].map(lambda ids: " ".join(map(str, ids)))
    return pd.DataFrame(
        {
            "prompt_id": pool["prompt_id"],
            "token_ids": keys,
            "logprob": pool["logprob"],
            "sampler_logprob": canonical,
            "reward": -pool["token_ids"].map(len).astype(np.int64),
            "sample_key": keys,
        }
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--top-p", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64, help="sequences per re-scoring pass")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="accepted engine spread (nats)")
    parser.add_argument("--out", default="results/rescore_demo.csv")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model, tokenizer = build_model(), build_tokenizer()  # float32: the reference
    prompts = {"P1": chat_prompt_ids(tokenizer, "ab"), "P2": chat_prompt_ids(tokenizer, "babba")}
    sampler = SamplerSettings(top_p=args.top_p)

    start = time.perf_counter()
    pool = draw(model, prompts, args.samples, args.top_p, args.seed)
    drawn = time.perf_counter()
    noise = check_engine_logprobs(pool, args.tolerance)
    pool = rescore_pool(model, prompts, pool, batch_size=args.batch_size, sampler=sampler)
    rescored = time.perf_counter()
    versus = compare_rescored(pool, args.tolerance)["sampler_logprob"]

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    table(pool, noise.canonical).to_csv(partial, index=False)
    partial.replace(out)

    s = noise.summary()
    print(
        f"{len(pool)} samples from generate(top_p={args.top_p}) in bfloat16: {drawn - start:.1f} s; "
        f"re-scored in float32 ({s['distinct']} distinct responses): {rescored - drawn:.2f} s"
    )
    print(
        f"engine noise: {s['repeated']} responses drawn more than once, {s['varied']} with differing log q, "
        f"{s['above_tolerance']} spread above {args.tolerance:g}; largest spread {s['largest_spread']:.3g} nats "
        f"(canonical value: the {s['canonical']} draw)"
    )
    print(
        f"engine log q - float32 log q: mean {versus.mean_difference:+.3g}, mean |.| {versus.mean_abs_difference:.3g}, "
        f"max |.| {versus.max_abs_difference:.3g} nats; +{versus.positive}/-{versus.negative} ({versus.pattern}); "
        f"{versus.outside_support} drawn outside float32's top-p set"
    )
    print(f"logprob (float32, batched) vs exact enumeration: max |error| {exact_error(model, prompts, pool):.2g} nats")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
