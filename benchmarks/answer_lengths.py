"""How long the default model's answers are: the data for choosing ``lm.sampling.max_new_tokens``.

For each default prompt (config/prompts/alpaca.yaml, translation.yaml), draw ``--samples`` exact
samples at ``--max-new-tokens`` (the model loaded as the workflow loads it, config/config.yaml) and
report, for each cap c: the fraction of samples that ended (end-of-sequence token) within c tokens,
and the mean useful tokens per sample when cut at c (min(length, c)). A sample drawn at cap 512 cut
at c is exactly the sample drawn at cap c (each sample owns its uniforms), so one run gives all caps.

The wall-time estimate for ``--pool`` samples x 8 prompts at cap c scales each prompt's measured
CPU seconds per useful token (at the long cap, so an upper bound for short caps, whose contexts are
shorter) by its useful tokens at c, summed over prompts and halved for two cores (two one-thread
sampling jobs side by side, the workflow's layout).

    python benchmarks/answer_lengths.py              # 8 prompts x 48 samples at 512 (~15 min, 1 thread)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from bonkl.lm.load import load_model
from bonkl.lm.prompts import chat_prompt_ids
from bonkl.lm.sampling import sample_responses
from bonkl.pipeline.sample_step import shard_seed

CAPS = (64, 128, 192, 256, 384, 512)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--samples", type=int, default=48)
    parser.add_argument("--max-new-tokens", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pool", type=int, default=256, help="samples per prompt of the estimate")
    parser.add_argument("--out", default=None, help="optional CSV of the per-prompt table")
    parser.add_argument("--only", nargs="*", default=None, help="prompts to run, e.g. translation/P3")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    lm = yaml.safe_load(Path(args.config).read_text())["lm"]
    spec = {key: lm["model"][key] for key in ("path", "gguf_file", "dtype", "device", "attn_implementation")}
    model, tokenizer = load_model(spec)
    caps = [c for c in CAPS if c <= args.max_new_tokens]
    rows = []
    for set_name, prompt_file in lm["prompt_sets"].items():
        for prompt in yaml.safe_load(Path(prompt_file).read_text())["prompts"]:
            if args.only and f"{set_name}/{prompt['id']}" not in args.only:
                continue
            ids = chat_prompt_ids(tokenizer, prompt["text"])
            cpu = time.process_time()
            frame = sample_responses(
                model,
                tokenizer,
                ids,
                args.samples,
                args.max_new_tokens,
                shard_seed(0, f"{set_name}/{prompt['id']}", 0),
                args.batch_size,
            )
            cpu = time.process_time() - cpu
            length = frame["num_tokens"].to_numpy()
            ended = frame["finished"].to_numpy()
            row = {
                "prompt": f"{set_name}/{prompt['id']}",
                "prompt_tokens": len(ids),
                "cpu_s_per_token": cpu / length.sum(),
            }
            for c in caps:
                row[f"ended@{c}"] = float(np.mean(ended & (length <= c)))
                row[f"mean@{c}"] = float(np.minimum(length, c).mean())
            rows.append(row)
            print(
                f"{row['prompt']}: {len(ids)} prompt tokens, {cpu:.0f} s CPU; ended/mean tokens by cap: "
                + ", ".join(f"{c}: {row[f'ended@{c}']:.2f}/{row[f'mean@{c}']:.0f}" for c in caps),
                flush=True,
            )
    table = pd.DataFrame(rows)
    if args.out:
        table.to_csv(args.out, index=False)
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.precision", 2):
        print(table.drop(columns="cpu_s_per_token").to_string(index=False))
    print(f"\nestimated wall time of {args.pool} samples x {len(table)} prompts on 2 cores (two one-thread jobs):")
    for c in caps:
        seconds = (table[f"mean@{c}"] * args.pool * table["cpu_s_per_token"]).sum() / 2
        print(
            f"  cap {c:4d}: {seconds / 60:5.1f} min  (mean useful tokens/sample "
            f"{table[f'mean@{c}'].mean():.1f}, ended {table[f'ended@{c}'].mean():.0%})"
        )


if __name__ == "__main__":
    main()
