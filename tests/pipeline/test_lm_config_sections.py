"""The config's rewards of the user's (lm.user_rewards) and sampler variants (lm.samplers, lm.practice):
parsed once when the plan is made, and every bad entry refused there with one line naming the key."""

from __future__ import annotations

import copy

import pytest
import yaml
from workflow_helpers import REPO

from bonkl.pipeline.lm_targets import LMPlan
from bonkl.pipeline.workflow_config import prepare_config

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture(scope="module")
def default():
    """config/config.yaml with the schema's defaults, prompt files by absolute path."""
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    validate(config, str(SCHEMA), set_default=True)
    for name, file in config["lm"]["prompt_sets"].items():
        config["lm"]["prompt_sets"][name] = str(REPO / file)
    return config


def plan(default, **lm) -> LMPlan:
    config = copy.deepcopy(default)
    config["lm"].update(lm)
    return LMPlan(config)


def refused(default, words: str, **lm) -> str:
    with pytest.raises(ValueError) as error:
        plan(default, **lm)
    message = str(error.value)
    assert words in message and "\n" not in message, message
    return message


def test_user_rewards_are_parsed_into_specs(default, tmp_path):
    (tmp_path / "mine.py").write_text("def f(samples, reference=None):\n    return samples['logprob']\n")
    (tmp_path / "rm").mkdir()
    (tmp_path / "rm" / "config.json").write_text("{}")
    user = {
        "mod": {"function": "bonkl.lm.rewards:loglik"},
        "file": {"function": f"{tmp_path}/mine.py:f"},
        "rm": {"path": str(tmp_path / "rm"), "device": "cuda", "resources": {"mem_mb": 9000}},
    }
    lm = plan(
        default,
        user_rewards=user,
        rewards={**default["lm"]["rewards"], "alpaca": ["loglik", "neg_length", "file", "rm"]},
    )
    assert lm.rewards["mod"].spec.kind == "python" and lm.rewards["rm"].spec.kind == "hf_model"
    assert lm.rewards["rm"].resources == {"gpu": 1, "mem_mb": 9000, "runtime": 60}  # cuda asks for a GPU
    assert lm.rewards["file"].resources["gpu"] == 0
    assert lm.rewards["rm"].param() == {
        "kind": "hf_model", "path": str(tmp_path / "rm"), "batch_size": 16, "device": "cuda", "dtype": "float32"
    }  # fmt: skip
    assert lm.rewards["file"].code_files() == [f"{tmp_path}/mine.py"] and lm.rewards["mod"].code_files() == []
    assert lm.reward_pattern(builtin=False) == "mod|file|rm" and "loglik" in lm.reward_pattern(builtin=True)
    assert lm.reference("translation", "P1", "file") is not None  # the prompt's reference, when it has one


@pytest.mark.parametrize(
    "user, words",
    [
        ({"mine": {"function": "no_such_module_here:f"}}, "config lm.user_rewards.mine: no module named"),
        ({"mine": {"function": "missing/file.py:f"}}, "config lm.user_rewards.mine: reward 'mine'"),
        ({"mine": {"function": "not a spec"}}, "config lm.user_rewards.mine: python reward 'not a spec'"),
        ({"rm": {"path": "no/such/folder"}}, "config lm.user_rewards.rm: reward 'rm': path"),
        ({"loglik": {"function": "bonkl.lm.rewards:loglik"}}, "name of a built-in reward"),
        ({"mine": {"function": "bonkl.lm.rewards:loglik", "batch_size": 4}}, "batch_size is only for kind 'hf_model'"),
        ({"mine": {}}, "config lm.user_rewards.mine: reward 'mine' is not built in"),
    ],
)
def test_a_bad_user_reward_is_refused_before_any_job(default, user, words):
    refused(default, words, user_rewards=user)


def test_an_unknown_reward_names_the_key_and_the_fix(default):
    rewards = {**default["lm"]["rewards"], "alpaca": ["loglik", "neg_length", "bleu"]}
    message = refused(default, "config lm.rewards.alpaca: unknown reward 'bleu'", rewards=rewards)
    assert "lm.user_rewards.bleu" in message
    figures = {"f": {"prompt_set": "alpaca", "reward": "bleu", "paper_figure": 4}}
    refused(default, "config lm.figures.f.reward: unknown reward 'bleu'", figures=figures)


VARIANT = {"temperature": 0.7, "top_p": 0.95, "prompt_set": "alpaca", "prompts": ["P1", "P3"], "rewards": ["loglik"]}


def test_sampler_variants_have_files_of_their_own(default):
    lm = plan(default)
    variant = lm.samplers["t07_p095"]
    assert variant.label == "temperature 0.7, top-p 0.95" and variant.prompts == ("P1", "P3")
    assert variant.sampling({"num_samples": 8})["sampler"] == {
        "temperature": 0.7,
        "top_k": 0,
        "top_p": 0.95,
        "min_p": 0.0,
    }
    root = "results/lm/smollm2-135m-instruct"
    assert lm.variant_sample_files("t07_p095") == [
        f"{root}/samplers/t07_p095/samples/alpaca/P1.parquet",
        f"{root}/samplers/t07_p095/samples/alpaca/P3.parquet",
    ]
    assert lm.variant_estimate_files() == [f"{root}/samplers/t07_p095/estimates/alpaca/loglik.parquet"]
    assert lm.practice_inputs("fig14_practice") == {
        "reference": f"{root}/estimates/alpaca/loglik.parquet",
        "variant": f"{root}/samplers/t07_p095/estimates/alpaca/loglik.parquet",
    }
    assert lm.practice_spec("fig14_practice") == {"prompts": ["P1", "P3"], "label": variant.label}
    assert not set(lm.variant_sample_files("t07_p095")) & {f for s in lm.sets for f in lm.sample_files(s)}
    every = plan(default, samplers={"all": {**VARIANT, "prompts": None}}, practice={})
    assert every.samplers["all"].prompts == ("P1", "P2", "P3", "P4")


@pytest.mark.parametrize(
    "change, words",
    [
        ({"model": VARIANT}, "config lm.samplers.model: 'model' is the model itself"),
        ({"v": {**VARIANT, "temperature": 1.0, "top_p": 1.0}}, "config lm.samplers.v: draws from the model itself"),
        ({"v": {**VARIANT, "top_k": -1}}, "config lm.samplers.v: sampler setting top_k"),
        ({"v": {**VARIANT, "prompt_set": "nope"}}, "config lm.samplers.v.prompt_set 'nope'"),
        ({"v": {**VARIANT, "prompts": ["P9"]}}, "config lm.samplers.v.prompts: 'P9' is not a prompt of 'alpaca'"),
        ({"v": {**VARIANT, "rewards": ["bleu"]}}, "config lm.samplers.v.rewards: unknown reward 'bleu'"),
        ({"v": {**VARIANT, "rewards": ["chrf"]}}, "config lm.samplers.v.rewards: reward 'chrf' needs a reference"),
    ],
)
def test_a_bad_sampler_variant_is_refused(default, change, words):
    refused(default, words, samplers=change, practice={})


def test_a_practice_figure_needs_its_variant_and_reward(default):
    refused(
        default,
        "config lm.practice.fig14_practice.sampler 'gone'",
        practice={"fig14_practice": {"sampler": "gone", "reward": "loglik"}},
    )
    practice = {"f": {"sampler": "t07_p095", "reward": "neg_length"}}
    refused(
        default,
        "config lm.practice.f.reward 'neg_length' is not computed there; add it to lm.samplers.t07_p095.rewards",
        practice=practice,
    )


def test_null_drops_a_variant_with_its_figures_and_a_set_with_its_variants():
    for lm in ({"samplers": {"t07_p095": None}}, {"prompt_sets": {"alpaca": None}}):
        config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
        for key, value in lm.items():
            config["lm"][key].update(value)
        prepare_config(config, SCHEMA)
        assert config["lm"]["samplers"] == {} and config["lm"]["practice"] == {}, lm
