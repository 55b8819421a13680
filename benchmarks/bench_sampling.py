"""Throughput of exact sampling: plain ``model.generate`` against ``bonkl.lm.sampling.sample_responses``.

Both draw the same number of samples for the same chat-formatted prompts from the embedded default
model (SmolLM2-135M-Instruct, fetched into resources/models/ if absent), in one process, alternating
prompt by prompt so that load on the machine hits both alike. Reported: useful tokens per second
(generated tokens up to and including the end-of-sequence token; ``generate`` also spends steps on
rows that have ended, which is exactly the waste this measures) and the ratio.

    python benchmarks/bench_sampling.py          # 2 prompts x 128 samples, 128 tokens (~3 min)
    python benchmarks/bench_sampling.py --samples 32 --max-new-tokens 32 --check 0   # quick

generate runs at batch 32 (the baseline named in the brief); sample_responses at 128 by default:
its batch stays full (refilled rows), so a large batch, which multiplies matrices more
efficiently on a CPU, costs it no wasted steps. Use --our-batch-size 32 for the same batch.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from bonkl.lm.load import EMBEDDED_FILE, fetch_embedded_model, load_model
from bonkl.lm.prompts import chat_prompt_ids
from bonkl.lm.sampling import eos_token_ids, sample_responses, score_sequences

# Alpaca prompts of the paper (Appendix C.1).
PROMPTS = [
    "Transform the following sentence into a yes/no question. It is going to rain tomorrow.",
    "Describe the function of a computer motherboard.",
    "What is the capital of France?",
    "Give three tips for staying healthy.",
]


def run_generate(model, prompt_ids, num_samples, max_new_tokens, batch_size, eos, seed, logits):
    """Plain ``generate`` with every warper neutralised; returns the useful token count."""
    torch.manual_seed(seed)
    prompt = torch.tensor([prompt_ids])
    useful = 0
    for start in range(0, num_samples, batch_size):
        rows = min(batch_size, num_samples - start)
        inputs = prompt.expand(rows, -1)
        out = model.generate(inputs, attention_mask=torch.ones_like(inputs), do_sample=True,
                             temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=max_new_tokens,
                             pad_token_id=eos[0], output_logits=logits, return_dict_in_generate=True)
        generated = out.sequences[:, prompt.shape[1]:]
        ended = torch.isin(generated, torch.tensor(eos))
        first_end = torch.where(ended.any(1), ended.int().argmax(1) + 1, generated.shape[1])
        useful += int(first_end.sum())
    return useful


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", default="resources/models")
    parser.add_argument("--prompts", type=int, default=2, help="how many of the paper's Alpaca prompts")
    parser.add_argument("--samples", type=int, default=128, help="samples per prompt")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32, help="batch of generate")
    parser.add_argument("--our-batch-size", type=int, default=128, help="batch of sample_responses")
    parser.add_argument("--dtype", default="float32", help="dtype of sample_responses' model")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--baseline-logits", action="store_true",
                        help="let generate also return its logits (needed for log-probabilities)")
    parser.add_argument("--check", type=int, default=8, help="samples re-scored to check exactness")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    ours_batch = args.our_batch_size

    path = Path(args.model_dir) / EMBEDDED_FILE
    if not path.is_file():
        fetch_embedded_model(args.model_dir)
    model, tokenizer = load_model({"path": str(path), "dtype": "float32"})
    ours_model = model if args.dtype == "float32" else load_model({"path": str(path), "dtype": args.dtype})[0]
    eos = eos_token_ids(model, tokenizer)
    prompts = [chat_prompt_ids(tokenizer, text) for text in PROMPTS[:args.prompts]]
    print(f"torch threads {torch.get_num_threads()}; {len(prompts)} prompts x {args.samples} samples, "
          f"max_new_tokens {args.max_new_tokens}; generate batch {args.batch_size} float32, "
          f"ours batch {ours_batch} {args.dtype}")

    with torch.inference_mode():  # warm-up: first calls allocate and dispatch
        run_generate(model, prompts[0], 2, 4, 2, eos, args.seed, args.baseline_logits)
    sample_responses(ours_model, tokenizer, prompts[0], 2, 4, args.seed, 2)

    # [generate, ours] x [useful tokens, wall seconds, process CPU seconds]; CPU time is the fairer
    # measure when other jobs share the machine.
    totals = np.zeros((2, 3))
    for k, prompt in enumerate(prompts):
        wall, cpu = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            useful = run_generate(model, prompt, args.samples, args.max_new_tokens, args.batch_size,
                                  eos, args.seed, args.baseline_logits)
        base = (useful, time.perf_counter() - wall, time.process_time() - cpu)
        wall, cpu = time.perf_counter(), time.process_time()
        frame = sample_responses(ours_model, tokenizer, prompt, args.samples, args.max_new_tokens,
                                 args.seed, ours_batch)
        ours = (int(frame["num_tokens"].sum()), time.perf_counter() - wall, time.process_time() - cpu)
        totals += [base, ours]
        print(f"prompt {k + 1}: generate {base[0]} tokens in {base[1]:.1f} s ({base[2]:.1f} s CPU) | "
              f"ours {ours[0]} tokens in {ours[1]:.1f} s ({ours[2]:.1f} s CPU); ours: "
              f"{frame['finished'].mean():.0%} ended, mean length {frame['num_tokens'].mean():.1f}")
        if args.check:
            check = frame.head(args.check)
            rescored = score_sequences(ours_model, prompt, check["token_ids"].tolist())
            print(f"  exactness: max |logprob - full re-scoring ({args.dtype})| over {len(check)} "
                  f"samples = {np.abs(rescored - check['logprob'].to_numpy()).max():.2e}")
    for label, col in (("wall", 1), ("CPU", 2)):
        rate = totals[:, 0] / totals[:, col]
        print(f"TOTAL useful tokens per {label} second: generate {rate[0]:.0f}, ours {rate[1]:.0f}, "
              f"ratio {rate[1] / rate[0]:.2f}x")


if __name__ == "__main__":
    main()
