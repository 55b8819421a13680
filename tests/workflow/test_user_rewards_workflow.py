"""Rewards the user brings, and a sampler variant, in the workflow, on the tiny random model: a Python
function from a file (given the prompt) and a tiny random reward model the test builds, on a prompt set of
two prompts; editing one reward's entry rescores that reward alone; dropping the variant redraws nothing."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from workflow_helpers import SMALL_CONFIG, copy_workflow, job_counts, merged, snakemake, write_config

pytestmark = pytest.mark.workflow

MODEL = SMALL_CONFIG["lm"]["model"]["name"]
ROOT = f"results/lm/{MODEL}"
PROMPTS = {"A": "what is the capital of france?", "B": "name a colour."}
REWARD_FILE = '''
import numpy as np


def overlap(samples, reference=None, prompt=None):
    """How many distinct characters of the prompt the response repeats (it needs the prompt)."""
    return np.array([float(len(set(prompt) & set(text))) for text in samples["text"]])
'''
TARGETS = ("lm", "practice")


def user_config(**change) -> dict:
    lm = {
        "prompt_sets": {"alpaca": None, "translation": None, "two": "two.yaml"},  # drops t07_p095 and fig14 too
        "user_rewards": {"overlap": {"function": "my_rewards.py:overlap"}, "rm": {"path": "rm", "batch_size": 4}},
        "rewards": {"two": ["loglik", "overlap", "rm"]},
        "figures": {"fig90_two_rm": {"prompt_set": "two", "reward": "rm", "paper_figure": 4}},
        "samplers": {"hot": {"temperature": 1.5, "top_k": 20, "prompt_set": "two", "rewards": ["loglik", "rm"]}},
        "practice": {"fig91_hot": {"sampler": "hot", "reward": "rm"}},
    }
    return merged(SMALL_CONFIG, {"lm": merged(lm, change)})


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    pytest.importorskip("transformers")
    from lm.tiny_reward import save_reward_model

    workdir = copy_workflow(tmp_path_factory.mktemp("user-rewards"))
    (workdir / "my_rewards.py").write_text(REWARD_FILE)
    save_reward_model(workdir / "rm")
    prompts = [{"id": key, "text": text} for key, text in PROMPTS.items()]
    (workdir / "two.yaml").write_text(yaml.safe_dump({"prompts": prompts}))
    write_config(workdir / "user.yaml", user_config())
    snakemake(workdir, "--cores", "2", *TARGETS, "--configfile", "user.yaml", timeout=1800)
    return workdir


def dry(workdir, config: dict, name: str) -> dict[str, int]:
    write_config(workdir / name, config)
    return job_counts(snakemake(workdir, "-n", *TARGETS, "--configfile", name).stdout)


def test_user_rewards_are_scored_as_their_specs_say(run):
    from bonkl.lm.reward_spec import RewardSpec, load_reward

    for prompt, text in PROMPTS.items():
        samples = pd.read_parquet(run / f"{ROOT}/samples/two/{prompt}.parquet")
        overlap = pd.read_parquet(run / f"{ROOT}/rewards/two/{prompt}/overlap.parquet")
        expected = [float(len(set(text) & set(response))) for response in samples["text"]]
        assert overlap["reward"].tolist() == expected  # the function was given the prompt's text
        rm = pd.read_parquet(run / f"{ROOT}/rewards/two/{prompt}/rm.parquet")
        direct = load_reward(RewardSpec("rm", kind="hf_model", path=str(run / "rm"), batch_size=4))(
            samples, prompt=text
        )
        assert rm["reward"].to_numpy() == pytest.approx(direct, abs=1e-5)
        assert rm["reward"].nunique() > 1
    table = pd.read_csv(run / f"{ROOT}/tables/estimates.csv")
    assert set(table["reward"]) == {"loglik", "overlap", "rm"}
    assert (run / "results/figures/fig90_two_rm.png").stat().st_size > 0


def test_a_variant_pool_estimates_the_kl_to_the_reference(run):
    root = f"{ROOT}/samplers/hot"
    samples = pd.read_parquet(run / f"{root}/samples/two/A.parquet")
    assert (samples["sampler_logprob"] != samples["logprob"]).any()  # drawn from q, not from pi
    table = pd.read_parquet(run / f"{root}/estimates/two/rm.parquet")
    first = table[table["n"] == 1].set_index("prompt_id")
    # n = 1: best-of-n's own step is nothing, and the KL to pi is the sampler's own KL(q || pi)
    assert first["kl_estimator_mean"].to_numpy() == pytest.approx(0.0, abs=1e-12)
    assert first["kl_to_reference_estimator_mean"].to_numpy() == pytest.approx(first["sampler_log_ratio"].to_numpy())
    assert (first["sampler_log_ratio"] > 0).all()
    figure = pd.read_csv(run / "results/figures/fig91_hot.csv")
    assert set(figure["sampler"]) == {"temperature 1", "temperature 1.5, top-k 20"}
    assert set(figure["prompt_id"]) == set(PROMPTS)
    assert (run / "results/figures/fig91_hot.pdf").stat().st_size > 0


def test_editing_one_reward_rescores_it_alone(run):
    assert dry(run, user_config(), "same.yaml") == {}
    counts = dry(run, user_config(user_rewards={"rm": {"batch_size": 2}}), "rm_batch.yaml")
    assert counts.get("score_user") == 2 and counts.get("score_user_variant") == 2, counts
    assert not {"sample", "sample_variant", "score", "score_variant"} & set(counts), counts
    (run / "my_rewards.py").write_text(REWARD_FILE + "# edited\n")  # its code is an input of its jobs
    counts = dry(run, user_config(), "edited.yaml")
    assert counts.get("score_user") == 2 and "score_user_variant" not in counts and "sample" not in counts, counts
    (run / "my_rewards.py").write_text(REWARD_FILE)  # as it was: Snakemake compares the content
    assert dry(run, user_config(), "same.yaml") == {}


def test_the_default_pools_do_not_depend_on_the_variants(run):
    """Dropping the variant (and its figure) leaves every other job as it is; a plot option only redraws."""
    counts = dry(run, user_config(samplers={"hot": None}), "no_variant.yaml")
    assert set(counts) <= {"practice"}, counts  # only the target rule, now with no input
    counts = dry(run, user_config(practice={"fig91_hot": {"panel_width": 3.0}}), "wider.yaml")
    assert counts == {"practice_plot": 1, "practice": 1}, counts


def test_a_bad_user_reward_stops_the_run_before_any_job(run):
    for change, words in [
        ({"rm": {"colour": "red"}}, "Allowed keys at lm.user_rewards.rm"),
        ({"overlap": {"function": "not_installed_mod:overlap"}}, "config lm.user_rewards.overlap: no module named"),
    ]:
        write_config(run / "bad.yaml", user_config(user_rewards=change))
        result = snakemake(run, "-n", *TARGETS, "--configfile", "bad.yaml", check=False)
        assert result.returncode != 0 and words in result.stdout, result.stdout[-3000:]
