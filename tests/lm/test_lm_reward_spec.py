"""RewardSpec: what a config may say about a reward, refused in one line before any work."""

from __future__ import annotations

import pytest

from bonkl.lm.reward_spec import RewardSpec, reward_specs


def test_defaults_and_labels():
    assert RewardSpec("chrf").label == "'chrf'"
    python = RewardSpec("polite", kind="python", function="my_rewards:polite")
    assert python.label == "'polite' (python 'my_rewards:polite')" and python.batch_size is None
    model = RewardSpec("helpful", kind="hf_model", path="models/rm")
    assert (model.batch_size, model.device, model.dtype) == (16, "cpu", "float32")
    assert not model.needs_gpu and not python.needs_gpu
    assert RewardSpec("helpful", kind="hf_model", path="models/rm", device="cuda:1").needs_gpu
    assert not RewardSpec("helpful", kind="hf_model", path="models/rm", device="auto").needs_gpu


def test_from_config_infers_the_kind():
    assert RewardSpec.from_config("loglik", None) == RewardSpec("loglik")
    assert RewardSpec.from_config("p", {"function": "m:f"}).kind == "python"
    spec = RewardSpec.from_config("rm", {"path": "models/rm", "batch_size": 4, "device": "cuda"})
    assert (spec.kind, spec.batch_size, spec.device, spec.dtype) == ("hf_model", 4, "cuda", "float32")


def test_reward_specs_lists_builtins_then_the_users():
    specs = reward_specs({"rm": {"kind": "hf_model", "path": "models/rm"}})
    assert list(specs) == ["loglik", "neg_length", "chrf", "rm"] and specs["rm"].kind == "hf_model"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "x", "kind": "hf"}, r"reward 'x': kind 'hf' is not one of \['builtin', 'python', 'hf_model'\]"),
        ({"name": "bleu"}, r"reward 'bleu' is not built in \(built-in rewards: \['chrf', 'loglik', 'neg_length'\]\)"),
        ({"name": "a/b", "kind": "python", "function": "m:f"}, r"reward name 'a/b' must match"),
        ({"name": "chrf", "kind": "python", "function": "m:f"}, r"'chrf' is the name of a built-in reward"),
        ({"name": "p", "kind": "python"}, r"reward 'p': kind 'python' needs function \(a non-empty string\)"),
        ({"name": "p", "kind": "python", "function": "m:f", "path": "x"}, r"path is only for kind 'hf_model'"),
        ({"name": "p", "kind": "python", "function": "mf"}, r"'mf' is not of the form 'module:function'"),
        ({"name": "p", "kind": "python", "function": "m:f", "device": "cuda"}, r"device is only for kind 'hf_model'"),
        ({"name": "loglik", "batch_size": 8}, r"reward 'loglik': batch_size is only for kind 'hf_model'"),
        ({"name": "r", "kind": "hf_model"}, r"reward 'r': kind 'hf_model' needs path"),
        ({"name": "r", "kind": "hf_model", "path": " "}, r"kind 'hf_model' needs path"),
        ({"name": "r", "kind": "hf_model", "path": "p", "function": "m:f"}, r"function is only for kind 'python'"),
        ({"name": "r", "kind": "hf_model", "path": "p", "batch_size": 0}, r"batch_size 0 must be an integer from 1"),
        ({"name": "r", "kind": "hf_model", "path": "p", "batch_size": True}, r"batch_size True must be an integer"),
        ({"name": "r", "kind": "hf_model", "path": "p", "batch_size": 2.5}, r"batch_size 2.5 must be an integer"),
        (
            {"name": "r", "kind": "hf_model", "path": "p", "device": "gpu"},
            r"reward 'r': device 'gpu' is not one of \['cpu', 'cuda', 'cuda:N', 'auto'\]",
        ),
        (
            {"name": "r", "kind": "hf_model", "path": "p", "dtype": "float64"},
            r"reward 'r': dtype 'float64' is not one of \['float32', 'bfloat16', 'float16'\]",
        ),
    ],
)
def test_bad_spec_is_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message) as caught:
        RewardSpec(**kwargs)
    assert "\n" not in str(caught.value)


def test_bad_config_entry():
    with pytest.raises(ValueError, match=r"reward 'rm': unknown key 'batchsize'; allowed keys: \['kind', 'function'"):
        RewardSpec.from_config("rm", {"path": "p", "batchsize": 4})
    with pytest.raises(ValueError, match=r"reward 'rm': expected a mapping"):
        RewardSpec.from_config("rm", "models/rm")


def test_check_looks_at_files_without_importing(tmp_path):
    RewardSpec("p", kind="python", function="some.module:never_imported").check()  # modules: at load
    with pytest.raises(ValueError, match=r"reward 'p' \(python '.*nope.py:f'\): file .*nope.py does not exist"):
        RewardSpec("p", kind="python", function=f"{tmp_path}/nope.py:f").check()
    with pytest.raises(ValueError, match=r"reward 'rm': path .* is not a folder"):
        RewardSpec("rm", kind="hf_model", path=str(tmp_path / "rm")).check()
    with pytest.raises(ValueError, match=r"has no config.json"):
        RewardSpec("rm", kind="hf_model", path=str(tmp_path)).check()
    (tmp_path / "config.json").write_text("{}")
    RewardSpec("rm", kind="hf_model", path=str(tmp_path)).check()
