"""Throughput of exact sampling: plain ``model.generate``, the sampler of commit 1861cb8 (read from
git history) and ``bonkl.lm.sampling.sample_responses``, side by side.

All three draw the same number of samples for the same chat-formatted prompts from the embedded
default model (SmolLM2-135M-Instruct, float32, fetched into resources/models/ if absent), in one
process, one after the other per prompt so that load on the machine hits all alike. Two prompts: a
short answer (Alpaca P1) and a long one (translation P3, a long prompt too). Reported: useful tokens
per second (generated tokens up to and including the end-of-sequence token; ``generate`` also steps
rows that have ended, which is exactly the waste this measures), per wall and per CPU second, the
ratios, and the fraction of the float32 compute limit (2 FLOP per weight per token at the GFLOP/s
a large float32 matrix product reaches in this process). Then the breakdown of one decode step, and
the ceiling: a step's cost by rows, the matrix products alone at full batch (what no float32
sampler can beat), the memory floor of a one-row step, bfloat16 against float32 on this CPU, and
what prompt-lookup speculation would keep on the samples drawn.

    python benchmarks/bench_sampling.py                     # ~15 min on 2 idle cores
    python benchmarks/bench_sampling.py --samples 16 --short-tokens 16 --long-tokens 16 --check 2  # quick
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch
import yaml

from bonkl.lm import attention, decoder, kernel, sampling
from bonkl.lm.load import EMBEDDED_FILE, fetch_embedded_model, load_model
from bonkl.lm.prompts import chat_prompt_ids

BASELINE = "1861cb85d7e3ea7c37af4452b5e81dbc006c724e"  # the sampler before the speed work (issue 9)


def baseline_sampler():
    """The module ``bonkl/lm/sampling.py`` as of ``BASELINE``, from this checkout's git history."""
    source = subprocess.run(
        ["git", "show", f"{BASELINE}:src/bonkl/lm/sampling.py"],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
    )
    if source.returncode:
        sys.exit(f"bench_sampling needs the git history of commit {BASELINE[:7]}: {source.stderr.strip()}")
    module = types.ModuleType("baseline_sampling")
    exec(compile(source.stdout, f"{BASELINE[:7]}:src/bonkl/lm/sampling.py", "exec"), module.__dict__)
    return module


CASES = (
    ("short: alpaca P1", "config/prompts/alpaca.yaml", "P1", "short_tokens"),
    ("long: translation P3", "config/prompts/translation.yaml", "P3", "long_tokens"),
)


def prompt_text(path, prompt_id):
    return next(p["text"] for p in yaml.safe_load(Path(path).read_text())["prompts"] if p["id"] == prompt_id)


def run_generate(model, prompt_ids, num_samples, max_new_tokens, batch_size, eos, seed):
    """Plain ``generate`` with every warper neutralised; returns the useful token count."""
    torch.manual_seed(seed)
    prompt = torch.tensor([prompt_ids])
    useful = 0
    with torch.inference_mode():
        for start in range(0, num_samples, batch_size):
            rows = min(batch_size, num_samples - start)
            inputs = prompt.expand(rows, -1)
            out = model.generate(
                inputs,
                attention_mask=torch.ones_like(inputs),
                do_sample=True,
                temperature=1.0,
                top_k=0,
                top_p=1.0,
                max_new_tokens=max_new_tokens,
                pad_token_id=eos[0],
            )
            generated = out[:, prompt.shape[1] :]
            ended = torch.isin(generated, torch.tensor(eos))
            first_end = torch.where(ended.any(1), ended.int().argmax(1) + 1, generated.shape[1])
            useful += int(first_end.sum())
    return useful


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def peak_gflops():
    """GFLOP/s of a large float32 matrix product, with this process's threads."""
    a = torch.randn(2048, 2048)
    a @ a
    wall = time.perf_counter()
    for _ in range(5):
        a @ a
    return 5 * 2 * 2048**3 / (time.perf_counter() - wall) / 1e9


def weights_per_token(model):
    """Multiply-adds per token: every linear layer's weights, the output head included."""
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))


def milliseconds(fn, repeat, clock):
    """Milliseconds of one call of ``fn`` by ``clock`` (CPU or wall), after one warm-up call."""
    fn()
    start = clock()
    for _ in range(repeat):
        fn()
    return (clock() - start) / repeat * 1e3


def step_breakdown(model, prompt_ids, rows, steps):
    """CPU milliseconds of one decode step of the new sampler at ``rows`` rows after ``steps``
    steps, and of its parts timed alone on the same shapes."""

    def ms(fn, repeat=3):
        return milliseconds(fn, repeat, time.process_time)

    with torch.inference_mode():
        dec = decoder.Decoder(model, prompt_ids, steps + 8, [-1], 0)
        dec.start(torch.arange(rows), *dec.first_tokens(range(rows)))
        for _ in range(steps):
            dec.step()
        length = dec.length
        total = ms(dec.step)
        config = model.config.get_text_config()
        layers = model.model.layers
        linears = [m for m in layers.modules() if isinstance(m, torch.nn.Linear)]
        inputs = {m.in_features: torch.randn(rows, 1, m.in_features) for m in linears}
        hidden = inputs[config.hidden_size]
        parts = {
            f"matrix products, {len(layers)} layers": ms(lambda: [m(inputs[m.in_features]) for m in linears]),
            "output head (lm_head)": ms(lambda: model.lm_head(hidden)),
        }
        logits = model.lm_head(hidden)[:, -1]
        u = torch.rand(rows, dtype=torch.float64)
        parts["vocabulary softmax + CDF inversion"] = ms(lambda: kernel.sample_tokens(logits, u))
        attn = layers[0].self_attn
        heads, dim = config.num_attention_heads, attn.head_dim
        query = torch.randn(rows, heads, 1, dim)
        keys = dec.cache.layers[0].keys
        mask = torch.ones(rows, keys.shape[2], dtype=torch.bool)
        parts["attention (prompt shared + own columns)"] = ms(
            lambda: [
                attention.shared_prefix_attention(
                    layer.self_attn, query, keys, keys, None, bonkl_prefix=dec.prefix, bonkl_mask=mask
                )
                for layer in layers
            ]
        )
    parts["rest: norms, rotary, cache writes, Python"] = total - sum(parts.values())
    print(
        f"\nOne decode step of the new sampler, {rows} rows, prompt {len(prompt_ids)} + {length} "
        f"generated columns, {torch.get_num_threads()} threads: {total:.0f} ms CPU"
    )
    for name, value in parts.items():
        print(f"  {name:45s} {value:7.1f} ms  {value / total:5.1%}")


def lookup_acceptance(sequences, draft=8):
    """Tokens per step that prompt-lookup speculation would keep on these samples: at each step the
    next ``draft - 1`` tokens are guessed from the latest earlier match of the last 3 (else 2, 1)
    tokens; the step keeps its own draw plus every guess up to the first wrong one. (With a guess,
    speculation keeps the draws exact: position j's token is still drawn at u[j].)"""
    steps = kept = 0
    for seq in map(list, sequences):
        t = 1
        while t < len(seq):
            guess = []
            for n in (3, 2, 1):
                key = seq[t - n : t] if t >= n + 1 else None
                hits = [s for s in range(t - n - 1, -1, -1) if key and seq[s : s + n] == key]
                if hits:
                    guess = seq[hits[0] + n : hits[0] + n + draft - 1]
                    break
            take = 1 + next((j for j, g in enumerate(guess) if t + j >= len(seq) - 1 or seq[t + j] != g), len(guess))
            take = min(take, len(seq) - t)
            steps, kept, t = steps + 1, kept + take, t + take
    return kept / max(steps, 1)


def ceiling(model, prompt_ids, rows, frames):
    """Why the sampler is where it is on this CPU: the cost of a step by rows, what the matrix
    products alone allow at full batch, the memory floor of a one-row step, bfloat16 against
    float32, and what speculation would gain on the samples just drawn."""

    def ms(fn, repeat=3):
        return milliseconds(fn, repeat, time.perf_counter)

    print(f"\nCeiling ({torch.get_num_threads()} threads, wall ms; prompt {len(prompt_ids)} tokens)")
    with torch.inference_mode():
        for r in sorted({1, 8, 64, rows}):
            dec = decoder.Decoder(model, prompt_ids, 40, [-1], 0)
            dec.start(torch.arange(r), *dec.first_tokens(range(r)))
            for _ in range(16):
                dec.step()
            step = ms(dec.step)
            print(f"  step with {r:4d} rows: {step:7.1f} ms = {r / step * 1e3:6.0f} tokens/s")
        linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
        inputs = {m.in_features: torch.randn(rows, 1, m.in_features) for m in linears}
        products = ms(lambda: [m(inputs[m.in_features]) for m in linears])
        print(
            f"  matrix products alone (every linear layer and the output head), {rows} rows: {products:.0f} ms "
            f"= {rows / products * 1e3:.0f} tokens/s: no float32 sampler beats this, whatever the rest costs"
        )
        weights = sum(m.weight.numel() * m.weight.element_size() for m in linears)
        big = torch.ones(weights // 4)
        read = weights / ms(big.sum) / 1e6
        print(
            f"  one row: the step reads {weights / 1e6:.0f} MB of weights at {read:.1f} GB/s (a sum over as much "
            f"memory) = {weights / read / 1e6:.0f} ms at least; the rest of a one-row step is the cost of "
            "hundreds of small operations"
        )
        hidden = model.config.get_text_config().hidden_size
        inner = model.config.get_text_config().intermediate_size
        flops = {}
        for dtype in (torch.float32, torch.bfloat16):
            a, w = torch.randn(rows, hidden, dtype=dtype), torch.randn(inner, hidden, dtype=dtype)
            flops[dtype] = 2 * rows * hidden * inner / ms(lambda: torch.nn.functional.linear(a, w), 5) / 1e6
        print(
            f"  MLP-shaped product ({rows} x {hidden} x {inner}): float32 {flops[torch.float32]:.0f} GFLOP/s, "
            f"bfloat16 {flops[torch.bfloat16]:.0f} GFLOP/s"
        )
    for label, frame in frames.items():
        print(
            f"  prompt-lookup speculation on {label}'s samples: {lookup_acceptance(frame['token_ids']):.2f} "
            "tokens kept per step (8 guessed)"
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", default="resources/models")
    parser.add_argument("--samples", type=int, default=128, help="samples per prompt")
    parser.add_argument("--short-tokens", type=int, default=128, help="max_new_tokens, short case")
    parser.add_argument("--long-tokens", type=int, default=256, help="max_new_tokens, long case")
    parser.add_argument("--batch-size", type=int, default=32, help="batch of generate")
    parser.add_argument("--our-batch-size", type=int, default=128, help="batch of both samplers")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--no-generate", action="store_true", help="skip plain generate")
    parser.add_argument("--check", type=int, default=8, help="samples re-scored to check exactness")
    parser.add_argument("--ceiling-rows", type=int, default=256, help="full batch of the ceiling section")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    head = baseline_sampler()  # before the model: a checkout without the history stops here

    path = Path(args.model_dir) / EMBEDDED_FILE
    if not path.is_file():
        fetch_embedded_model(args.model_dir)
    model, tokenizer = load_model({"path": str(path), "dtype": "float32"})
    eos = sampling.eos_token_ids(model, tokenizer)
    gflops = peak_gflops()
    limit = gflops * 1e9 / (2 * weights_per_token(model))
    print(
        f"torch threads {torch.get_num_threads()}; {args.samples} samples per prompt; generate batch "
        f"{args.batch_size}, samplers batch {args.our_batch_size}; float32 matrix product "
        f"{gflops:.0f} GFLOP/s -> compute limit {limit:.0f} tokens/s"
    )

    run_generate(model, chat_prompt_ids(tokenizer, "Hi"), 2, 4, 2, eos, 0)  # warm-up
    for impl in (head, sampling):
        impl.sample_responses(model, tokenizer, chat_prompt_ids(tokenizer, "Hi"), 2, 4, 0, 2)

    names = ("generate", "HEAD sampler", "new sampler")
    drawn = {}
    for label, prompt_file, prompt_id, cap in CASES:
        prompt = chat_prompt_ids(tokenizer, prompt_text(prompt_file, prompt_id))
        max_new = getattr(args, cap)
        runs = {}
        if not args.no_generate:
            runs["generate"] = timed(
                lambda: run_generate(model, prompt, args.samples, max_new, args.batch_size, eos, args.seed)
            )
        frames = {}
        for name, impl in (("HEAD sampler", head), ("new sampler", sampling)):
            frames[name], wall, cpu = timed(
                lambda: impl.sample_responses(
                    model, tokenizer, prompt, args.samples, max_new, args.seed, args.our_batch_size
                )
            )
            runs[name] = (int(frames[name]["num_tokens"].sum()), wall, cpu)
        new = drawn[label] = frames["new sampler"]
        same = (new["token_ids"] == frames["HEAD sampler"]["token_ids"]).mean()
        print(
            f"\n{label}: prompt {len(prompt)} tokens, max_new_tokens {max_new}; "
            f"{new['finished'].mean():.0%} ended, mean {new['num_tokens'].mean():.1f} useful tokens; "
            f"new = HEAD draws for {same:.1%} of samples"
        )
        print(
            f"  {'':14s} {'tokens':>7s} {'wall s':>7s} {'CPU s':>7s} {'tok/s':>7s} {'tok/CPU-s':>9s} {'of limit':>8s}"
        )
        for name in names:
            if name in runs:
                tokens, wall, cpu = runs[name]
                print(
                    f"  {name:14s} {tokens:7d} {wall:7.1f} {cpu:7.1f} {tokens / wall:7.0f} "
                    f"{tokens / cpu:9.0f} {tokens / wall / limit:8.1%}"
                )
        rate = {name: (r[0] / r[1], r[0] / r[2]) for name, r in runs.items()}
        for base in names[:2]:
            if base in rate:
                print(
                    f"  new / {base}: {rate['new sampler'][0] / rate[base][0]:.2f}x per wall second, "
                    f"{rate['new sampler'][1] / rate[base][1]:.2f}x per CPU second"
                )
        if args.check:
            check = new.head(args.check)
            rescored = sampling.score_sequences(model, prompt, check["token_ids"].tolist())
            print(
                f"  exactness: max |logprob - full re-scoring| over {len(check)} samples = "
                f"{np.abs(rescored - check['logprob'].to_numpy()).max():.1e} nats"
            )
        step_breakdown(model, prompt, args.our_batch_size, max_new // 2)
    ceiling(model, prompt, args.ceiling_rows, drawn)


if __name__ == "__main__":
    main()
