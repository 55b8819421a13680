"""End to end: a pool drawn by another engine, then ``bonkl rescore``, then ``bonkl estimate``.

On the tests' tiny enumerable model (tests/lm/tiny_lm.py; two chat prompts), draw ``--samples``
responses with plain transformers ``generate(do_sample=True, top_p=0.9, top_k=0)`` in bfloat16
weights, prompts interleaved in batches of 1, 8, 64 and 500 (mixed prompts left-padded, so that
identical responses meet different batch compositions, as in a serving engine), keeping what such
an engine returns: the token ids and its own processed log-probabilities (``output_scores`` and
``compute_transition_scores(normalize_logits=True)``, the padding after each row's end-of-sequence
token masked; tests/lm/engine_pool.py), with the prompt's ids and a reward (minus the number of
tokens). The pool is written as it arrives: no ``logprob``, and identical responses may carry
different ``sampler_logprob``. Then, through the command line, as a user would:

1. ``bonkl rescore --top-p 0.9``: ``logprob`` under the float32 model (batched full passes, one per
   distinct response), one ``sampler_logprob`` per response with the engine's spread reported, and
   the engine's log q compared with the float32 one;
2. ``bonkl estimate --sampler-logprob-col sampler_logprob --bootstrap 200``: KL(BoN_q || q), the
   ``sampler_log_ratio`` and KL(BoN_q || pi);
3. checks no user has: ``logprob`` against an exact enumeration of every outcome; the estimates
   beside the exact values of best-of-n from the float32 top-p distribution, and the estimators'
   exact expectations there (the engine drew from its bfloat16 one, close to it but not equal);
   and the estimates with ``--canonical mean`` against those with the first draw's value, the
   effect of the engine noise the tolerance admits.

About 15 s on 2 cores (most of it the 500 one-row generate calls).

    python benchmarks/rescore_demo.py --out-dir results/rescore_demo
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lm"))  # the tiny model and engine

from engine_pool import engine_copy, generate_pool  # noqa: E402
from exact import enumerate_pairs, generate_processors  # noqa: E402
from tiny_lm import build_model, build_tokenizer  # noqa: E402

from bonkl import kl_estimator  # noqa: E402
from bonkl.cli import main as bonkl  # noqa: E402
from bonkl.files.atomic import write_table  # noqa: E402
from bonkl.lm.processors import SamplerSettings  # noqa: E402
from bonkl.lm.prompts import chat_prompt_ids  # noqa: E402
from bonkl.ties import level_masses, tied_bon_pmf  # noqa: E402

MAX_NEW = 4
BATCHES = (1, 8, 64, 500)  # the engine's batch sizes, one quarter of the samples each
NS = "1,2,4,8,16,32,64,128"
SHOWN = [
    "prompt_id",
    "n",
    "kl_bon",
    "kl_estimator_mean",
    "kl_corollary_4_2_bound",
    "sampler_log_ratio",
    "sampler_log_ratio_ci_low",
    "sampler_log_ratio_ci_high",
    "kl_to_reference_estimator_mean",
    "kl_to_reference_corollary_4_2_bound",
]

MOVED = SHOWN[3:6] + SHOWN[8:]  # the estimates that depend on q
SHOW = ("display.width", 250, "display.max_columns", 20, "display.float_format", "{:.4f}".format)


def draw(model, prompts: dict, num: int, top_p: float, seed: int) -> pd.DataFrame:
    """The bfloat16 engine's pool as it arrives: prompt_id, prompt_token_ids, token_ids,
    sampler_logprob (the engine's log q, per draw) and reward."""
    order = list(np.random.default_rng(seed).choice(sorted(prompts), size=num))
    engine = engine_copy(model, torch.bfloat16)
    parts = [
        generate_pool(engine, prompts, order[i :: len(BATCHES)], MAX_NEW, top_p, seed=seed + i, batch=b)
        for i, b in enumerate(BATCHES)
    ]
    pool = pd.concat(parts, ignore_index=True)
    return pool.assign(
        prompt_token_ids=[prompts[pid] for pid in pool["prompt_id"]],
        reward=-pool["token_ids"].map(len).astype(np.float64),
    )


def exact_values(model, prompts: dict, top_p: float, ns) -> tuple[dict, pd.DataFrame]:
    """Every outcome's exact log pi per prompt, and the exact best-of-n columns for q = the float32
    model cut to top-p (transformers' warper), reward = -length, ties broken at random."""
    eos = [model.generation_config.eos_token_id]
    processors = generate_processors(model, SamplerSettings(top_p=top_p))
    log_pi, rows = {}, []
    for pid, prompt in prompts.items():
        pairs = enumerate_pairs(model, prompt, MAX_NEW, eos, processors)  # q's support, with (log pi, log q)
        log_pi[pid] = {seq: lp for seq, (lp, _) in enumerate_pairs(model, prompt, MAX_NEW, eos).items()}
        seqs = sorted(pairs, key=len, reverse=True)  # increasing reward (the ties module's order)
        lp, lq = (np.array([pairs[s][i] for s in seqs]) for i in (0, 1))
        q = np.exp(lq) / np.exp(lq).sum()  # sums to 1 up to rounding
        reward = -np.array([len(s) for s in seqs], dtype=np.float64)
        bon = tied_bon_pmf(q, reward, np.asarray(ns, dtype=np.float64))
        log_bon = np.log(np.where(bon > 0, bon, 1.0))
        masses, levels = level_masses(q, reward)
        for n, b, lb in zip(ns, bon, log_bon):
            ratio = float(b @ (np.log(q) - lp))
            expected = float(b @ kl_estimator(masses[levels], float(n)))  # E[eq. 25], eps the level's q-mass
            rows.append(
                {
                    "prompt_id": pid,
                    "n": n,
                    "exact_kl_to_sampler": float(np.sum(b * (lb - np.log(q)))),
                    "expected_kl_estimator_mean": expected,
                    "exact_sampler_log_ratio": ratio,
                    "expected_kl_to_reference_estimator_mean": expected + ratio,
                    "exact_kl_to_reference": float(np.sum(b * (lb - lp))),
                }
            )
    return log_pi, pd.DataFrame(rows)


def run(*argv) -> tuple[int, str]:
    """``bonkl ...`` in this process: exit code and what it printed."""
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        code = bonkl([str(a) for a in argv])
    return code, text.getvalue()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--top-p", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64, help="sequences per re-scoring pass")
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--out-dir", default="results/rescore_demo")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out_dir)
    model, tokenizer = build_model(), build_tokenizer()  # float32: the reference
    model.save_pretrained(out / "model")
    tokenizer.save_pretrained(out / "model")
    prompts = {"P1": chat_prompt_ids(tokenizer, "ab"), "P2": chat_prompt_ids(tokenizer, "babba")}

    start = time.perf_counter()
    pool = draw(model, prompts, args.samples, args.top_p, args.seed)
    seconds = time.perf_counter() - start
    print(f"{len(pool)} samples from generate(top_p={args.top_p}, top_k=0) in bfloat16 weights: {seconds:.1f} s")
    write_table(pool, out / "engine_pool.parquet")

    rescored = out / "rescored.parquet"
    flags = ["--model", out / "model", "--top-p", args.top_p, "--batch-size", args.batch_size]
    command = ["rescore", "--samples", out / "engine_pool.parquet", *flags]
    code, text = run(*command, "--out", rescored, "--report", out / "rescore_report.json")
    print(f"$ bonkl {' '.join(map(str, command))} --out {rescored}\n{text}", end="")
    assert code == 0, f"bonkl rescore exited {code}"

    table = out / "estimate.csv"
    command = ["estimate", "--samples", rescored, "--sampler-logprob-col", "sampler_logprob", "--n", NS]
    code, text = run(*command, "--bootstrap", args.bootstrap, "--out", table, "--quiet")
    assert code == 0, f"bonkl estimate exited {code}"
    estimates = pd.read_csv(table)
    print(f"$ bonkl {' '.join(map(str, command))} --bootstrap {args.bootstrap} --out {table}")
    with pd.option_context(*SHOW):
        print(estimates[SHOWN].astype({"n": int}).to_string(index=False))

    ns = [int(n) for n in NS.split(",")]
    log_pi, exact = exact_values(model, prompts, args.top_p, ns)
    done = pd.read_parquet(rescored)
    want = [log_pi[pid][tuple(ids)] for pid, ids in zip(done["prompt_id"], done["token_ids"])]
    print(
        f"logprob (float32, batched) vs exact enumeration: max |error| {np.abs(done['logprob'] - want).max():.2g} nats"
    )
    both = estimates.merge(exact, on=["prompt_id", "n"])
    print(
        "beside the estimates, best-of-n from the float32 top-p q by enumeration (expected_*: the estimator's "
        "expectation, exact_*: the true value); the engine drew from its own bfloat16 q, not this one:"
    )
    columns = ["prompt_id", "n", "kl_estimator_mean", "expected_kl_estimator_mean", "exact_kl_to_sampler"]
    columns += ["sampler_log_ratio", "exact_sampler_log_ratio", "kl_to_reference_estimator_mean"]
    columns += ["expected_kl_to_reference_estimator_mean", "exact_kl_to_reference"]
    with pd.option_context(*SHOW):
        print(both[columns].astype({"n": int}).to_string(index=False))

    mean = out / "rescored_mean.parquet"
    assert (
        run("rescore", "--samples", out / "engine_pool.parquet", *flags, "--canonical", "mean", "--out", mean)[0] == 0
    )
    other = out / "estimate_mean.csv"
    assert (
        run("estimate", "--samples", mean, "--sampler-logprob-col", "sampler_logprob", "--n", NS, "--out", other)[0]
        == 0
    )
    moved = (pd.read_csv(other)[MOVED] - estimates[MOVED]).abs().max()
    print(
        "the engine noise admitted: --canonical mean instead of the first draw's value moves "
        + ", ".join(f"{name} by at most {value:.2g}" for name, value in moved.items())
        + " nats"
    )
    print(f"wrote {out}/")


if __name__ == "__main__":
    main()
