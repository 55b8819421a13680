"""``bonkl audit`` on pools with known defects, drawn from a tiny random model this file builds.

Two real pools: ``model.generate`` with the checkpoint's default ``top_k=50`` and the log-
probabilities transformers reports for it (must FAIL: recorded higher than the model's), and
``bonkl.sample_responses`` (must pass). Then one defect at a time on the good pool.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from bonkl.cli import main  # noqa: E402
from bonkl.files.atomic import write_table  # noqa: E402

PROMPTS = {"P1": "say something.", "P2": "count: 1 2 3"}
NUM_SAMPLES = 48
MAX_NEW_TOKENS = 12


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A character-level random Llama whose next-token distributions are broad (logit scale 1.5),
    so that top-k 50 of its 75 tokens removes visible mass; its generation config says top_k=50."""
    from transformers import GenerationConfig

    from bonkl.lm.tiny import build_model, build_tokenizer

    torch.set_num_threads(1)
    dest = tmp_path_factory.mktemp("audit-tiny")
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, seed=3, logit_scale=1.5)
    model.generation_config = GenerationConfig(
        do_sample=True,
        top_k=50,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
    )
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    from bonkl.lm.load import load_model

    model, tokenizer = load_model({"path": str(dest)})
    from bonkl.lm.prompts import chat_prompt_ids

    prompt_ids = {pid: chat_prompt_ids(tokenizer, text) for pid, text in PROMPTS.items()}
    prompts_yaml = dest / "prompts.yaml"
    prompts_yaml.write_text(
        "prompts:\n" + "".join(f'  - id: {pid}\n    text: "{text}"\n' for pid, text in PROMPTS.items())
    )
    return {"dir": dest, "model": model, "tokenizer": tokenizer, "prompt_ids": prompt_ids, "yaml": prompts_yaml}


@pytest.fixture(scope="module")
def sampler_pool(tiny):
    from bonkl.lm.sampling import sample_responses

    frames = []
    for seed, (pid, ids) in enumerate(tiny["prompt_ids"].items()):
        frame = sample_responses(tiny["model"], tiny["tokenizer"], ids, NUM_SAMPLES, MAX_NEW_TOKENS, seed, 16)
        frames.append(frame.assign(prompt_id=pid, prompt_token_ids=[ids] * len(frame)))
    return pd.concat(frames, ignore_index=True)[["prompt_id", "prompt_token_ids", "token_ids", "logprob", "finished"]]


@pytest.fixture(scope="module")
def generate_pool(tiny):
    """``model.generate(do_sample=True)`` as people call it: the checkpoint's top_k=50 applies, and the
    log-probabilities are transformers' transition scores (the processed distribution's)."""
    model, tokenizer = tiny["model"], tiny["tokenizer"]
    eos = tokenizer.eos_token_id
    rows = []
    torch.manual_seed(0)
    for pid, ids in tiny["prompt_ids"].items():
        out = model.generate(
            torch.tensor([ids]),
            do_sample=True,
            max_new_tokens=MAX_NEW_TOKENS,
            num_return_sequences=NUM_SAMPLES,
            output_scores=True,
            return_dict_in_generate=True,
        )
        scores = model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
        generated = out.sequences[:, len(ids) :]
        for row in range(generated.shape[0]):
            tokens = generated[row].tolist()
            end = tokens.index(eos) + 1 if eos in tokens else len(tokens)  # padding after EOS is EOS too
            rows.append(
                {
                    "prompt_id": pid,
                    "prompt_token_ids": ids,
                    "token_ids": tokens[:end],
                    "logprob": float(scores[row, :end].double().sum()),
                }
            )
    return pd.DataFrame(rows)


def run_audit(tmp_path, pool, *extra, fmt="parquet", tiny=None):
    path = tmp_path / f"pool.{fmt}"
    if fmt == "parquet":
        pool.to_parquet(path)
    elif fmt == "jsonl":
        pool.to_json(path, orient="records", lines=True)
    else:
        pool.assign(token_ids=pool["token_ids"].map(lambda ids: " ".join(map(str, ids)))).drop(
            columns=[c for c in ("prompt_token_ids",) if c in pool]
        ).to_csv(path, index=False)
    out = tmp_path / "audit.json"
    code = main(
        ["audit", "--samples", str(path), "--model", str(tiny["dir"]), "--rescore", "40", "--out", str(out), *extra]
    )
    return code, out


def test_generate_with_the_checkpoints_top_k_is_flagged(tmp_path, tiny, generate_pool, capsys):
    code, out = run_audit(tmp_path, generate_pool, tiny=tiny)
    text = capsys.readouterr().out
    assert code == 1, text
    assert "verdict: FAIL" in text and "systematically HIGHER" in text

    report = json.loads(out.read_text())
    assert report["median_difference"] > 1e-2  # top-k removed visible mass at almost every step


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_our_sampler_passes(tmp_path, tiny, sampler_pool, capsys, fmt):
    code, out = run_audit(tmp_path, sampler_pool, "--n", "1,2,4,16,48", fmt=fmt, tiny=tiny)
    text = capsys.readouterr().out
    assert code == 0, text
    assert "[FAIL]" not in text and "match the model" in text

    report = json.loads(out.read_text(), parse_constant=lambda name: pytest.fail(f"{name} in the JSON report"))
    assert report["largest_abs_difference"] < 1e-4


def test_prompts_from_a_prompt_set_and_csv_token_ids(tmp_path, tiny, sampler_pool, capsys):
    code, _ = run_audit(tmp_path, sampler_pool, "--prompts", str(tiny["yaml"]), fmt="csv", tiny=tiny)
    assert code == 0, capsys.readouterr().out


def _eos_terms(tiny, pool):
    from bonkl.lm.sampling import score_sequences

    eos = tiny["tokenizer"].eos_token_id
    terms = []
    for _, row in pool.iterrows():
        ids = list(row["token_ids"])
        if ids[-1] == eos and len(ids) > 1:
            full, prefix = score_sequences(tiny["model"], row["prompt_token_ids"], [ids, ids[:-1]])
            terms.append(full - prefix)
        else:
            terms.append(0.0)
    return np.array(terms)


def test_missing_eos_term_is_named(tmp_path, tiny, sampler_pool, capsys):
    pool = sampler_pool.copy()
    pool["logprob"] = pool["logprob"] - _eos_terms(tiny, pool)
    code, _ = run_audit(tmp_path, pool, tiny=tiny)
    text = capsys.readouterr().out
    assert code == 1 and "WITHOUT the final end-of-sequence token" in text, text


def test_stripped_eos_and_inconsistent_duplicates_and_small_pool(tmp_path, tiny, sampler_pool, capsys):
    pool = sampler_pool.copy()
    eos = tiny["tokenizer"].eos_token_id
    first = int(np.flatnonzero(pool["finished"] & (pool["token_ids"].map(len) > 1))[0])
    pool.at[first, "token_ids"] = list(pool.at[first, "token_ids"])[:-1]
    assert pool.at[first, "token_ids"][-1] != eos
    twin = pool.iloc[[0]].assign(logprob=pool.at[0, "logprob"] - 0.01)
    pool = pd.concat([pool, twin], ignore_index=True)
    code, _ = run_audit(tmp_path, pool, "--n", "1,2,1024", tiny=tiny)
    text = capsys.readouterr().out
    assert code == 1
    assert "[FAIL] pool size" in text and "fewer samples than the largest n (1024)" in text
    assert "[FAIL] end of sequence" in text and "[FAIL] duplicates" in text


@pytest.mark.parametrize(
    "case,message",
    [
        ("no_token_ids", "no column 'token_ids'"),
        ("no_model", "--model"),
        ("no_prompts", "give --prompts"),
        ("bad_ids", "'[1, 2' is not a list of token ids"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, tiny, sampler_pool, capsys, case, message):
    pool = sampler_pool.drop(columns="prompt_token_ids")
    model = str(tiny["dir"])
    path = tmp_path / "pool.csv"
    if case == "no_token_ids":
        pool = pool.drop(columns="token_ids")
    elif case == "bad_ids":
        pool = pool.assign(token_ids="[1, 2")
    elif case == "no_model":
        model = str(tmp_path / "missing-model")
    if "token_ids" in pool and case != "bad_ids":
        pool = pool.assign(token_ids=pool["token_ids"].map(lambda ids: str(list(ids))))
    pool.to_csv(path, index=False)
    extra = ["--prompts", str(tiny["yaml"])] if case == "no_model" else []
    code = main(["audit", "--samples", str(path), "--model", model, *extra])
    captured = capsys.readouterr()
    assert code == 2
    assert message in captured.err and "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"token_ids": lambda ids: [*ids[:-1], 10**6]},  # past the vocabulary
        {"token_ids": lambda ids: [-1, *ids]},  # negative
        {"token_ids": lambda ids: [10**30]},  # past any integer type
        {"prompt_token_ids": lambda ids: [*ids, 999]},  # the prompt's ids from another tokenizer
    ],
)
def test_token_ids_are_checked_against_the_vocabulary_before_any_forward_pass(
    tmp_path, tiny, sampler_pool, capsys, monkeypatch, bad
):
    """Pools from another tokenizer are what the audit exists to catch: one line, exit 2, no pass run."""
    import bonkl.lm.sampling

    monkeypatch.setattr(bonkl.lm.sampling, "score_sequences", lambda *a, **k: pytest.fail("a forward pass ran"))
    ((column, change),) = bad.items()
    pool = sampler_pool.copy()
    first = pool["prompt_id"] == pool.at[3, "prompt_id"]  # a prompt's ids: every row of the prompt
    rows = first if column == "prompt_token_ids" else pool.index == 3
    pool[column] = [change(list(ids)) if bad_row else list(ids) for bad_row, ids in zip(rows, pool[column])]
    path = tmp_path / "pool.jsonl"
    write_table(pool, path)
    code = main(["audit", "--samples", str(path), "--model", str(tiny["dir"]), "--out", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "outside the model's vocabulary" in err and str(path) in err, err
    assert column == "prompt_token_ids" or "row 3" in err, err
    assert not (tmp_path / "r.json").exists()


def test_one_prompt_with_two_prompt_token_ids_is_refused(tmp_path, tiny, sampler_pool, capsys):
    pool = sampler_pool.copy()
    pool["prompt_token_ids"] = [
        [*ids, 5] if row == 3 else list(ids) for row, ids in enumerate(pool["prompt_token_ids"])
    ]
    path = tmp_path / "pool.parquet"
    write_table(pool, path)
    code = main(["audit", "--samples", str(path), "--model", str(tiny["dir"])])
    err = capsys.readouterr().err
    assert code == 2 and "carry different prompt_token_ids" in err and len(err.strip().splitlines()) == 1, err


# -- the sampler's settings: sampler_logprob checked against the processed distribution q --


@pytest.fixture(scope="module")
def top_p_pool(tiny):
    """``bonkl.sample_responses`` with top-p 0.9: exact draws from q, log pi and log q recorded."""
    from bonkl.lm.processors import SamplerSettings
    from bonkl.lm.sampling import sample_responses

    frames = []
    for seed, (pid, ids) in enumerate(tiny["prompt_ids"].items()):
        frame = sample_responses(
            tiny["model"],
            tiny["tokenizer"],
            ids,
            NUM_SAMPLES,
            MAX_NEW_TOKENS,
            seed,
            16,
            sampler=SamplerSettings(top_p=0.9),
        )
        frames.append(frame.assign(prompt_id=pid, prompt_token_ids=[ids] * len(frame)))
    columns = ["prompt_id", "prompt_token_ids", "token_ids", "logprob", "sampler_logprob", "finished"]
    return pd.concat(frames, ignore_index=True)[columns]


def test_sampler_settings_pass_an_exact_top_p_pool(tmp_path, tiny, top_p_pool, capsys):
    code, out = run_audit(tmp_path, top_p_pool, "--top-p", "0.9", tiny=tiny)
    text = capsys.readouterr().out
    assert code == 0, text
    assert "[INFO] log-probabilities: match the model" in text
    assert "[INFO] sampler log-probabilities: match the sampler settings' q" in text
    report = json.loads(out.read_text())
    assert report["sampler"]["top_p"] == 0.9 and report["sampler_outside_support"] == 0
    assert report["largest_abs_difference"] < 1e-4 and report["sampler_largest_abs_difference"] < 1e-4
    assert (top_p_pool["sampler_logprob"] - top_p_pool["logprob"]).median() > 1e-2  # top-p removed visible mass


@pytest.mark.parametrize(
    "flags, change, words",
    [
        (
            [],
            None,
            ["[FAIL] sampler log-probabilities", "systematically HIGHER", "give the settings it was drawn with"],
        ),
        (["--top-p", "0.9"], "log_pi", ["[FAIL] sampler log-probabilities", "systematically LOWER", "log pi"]),
        (["--top-p", "0.5"], None, ["[FAIL] sampler log-probabilities", "remove (log q = -inf)"]),
        (["--top-p", "0.9", "--temperature", "0.7"], None, ["[FAIL] sampler log-probabilities"]),
    ],
)
def test_sampler_settings_fail_a_pool_drawn_otherwise(tmp_path, tiny, top_p_pool, capsys, flags, change, words):
    """No settings (q = pi), settings tighter or looser than the draws', or log pi recorded as log q:
    FAIL on the sampler column, while the logprob column still matches the model."""
    pool = top_p_pool.assign(sampler_logprob=top_p_pool["logprob"]) if change == "log_pi" else top_p_pool
    code, _ = run_audit(tmp_path, pool, *flags, tiny=tiny)
    text = capsys.readouterr().out
    assert code == 1 and "verdict: FAIL" in text, text
    assert "[INFO] log-probabilities: match the model" in text, text
    for word in words:
        assert word in text, text


def test_sampler_settings_without_a_sampler_column_are_refused(tmp_path, tiny, sampler_pool, capsys):
    code, _ = run_audit(tmp_path, sampler_pool, "--top-p", "0.9", tiny=tiny)
    err = capsys.readouterr().err
    assert (
        code == 2 and "no column 'sampler_logprob' to check them against" in err and len(err.strip().splitlines()) == 1
    )


def test_a_pool_with_only_sampler_logprob_is_audited(tmp_path, tiny, top_p_pool, capsys):
    code, out = run_audit(tmp_path, top_p_pool.drop(columns="logprob"), "--top-p", "0.9", tiny=tiny)
    text = capsys.readouterr().out
    assert code == 0 and "sampler log-probabilities: match" in text and "[INFO] log-probabilities" not in text, text
    assert "largest_abs_difference" not in json.loads(out.read_text())
