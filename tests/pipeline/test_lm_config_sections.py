"""The config's rewards of the user's (lm.user_rewards):
parsed once when the plan is made, and every bad entry refused there with one line naming the key."""

from __future__ import annotations

import copy

import pytest
import yaml
from workflow_helpers import REPO

from bonkl.pipeline.lm_targets import LMPlan

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
