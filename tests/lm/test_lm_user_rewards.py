"""Rewards given as Python functions: specs that resolve, specs that are refused (one ValueError
naming the spec, no traceback), and outputs that are refused (naming the row and the value)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from bonkl.lm.reward_spec import RewardSpec, load_reward
from bonkl.lm.user_rewards import accepts_prompt, check_values, resolve_function

MODULE = """
import numpy as np
import pandas as pd

SCALE = 3  # not callable

def vowels(samples, reference=None):
    return [float(sum(c in "aeiou" for c in t)) for t in samples["text"]]

def with_prompt(samples, reference=None, *, prompt=None):
    return np.array([len(t) + len(prompt or "") for t in samples["text"]], dtype=np.int64)

def with_kwargs(samples, reference=None, **kwargs):
    return pd.Series([1.0 if kwargs.get("prompt") else 0.0] * len(samples), index=samples.index[::-1])

def nan(samples, reference=None):
    return [1.0, float("nan"), 2.0, 0.0]

def infinite(samples, reference=None):
    return [1.0, 2.0, -np.inf, 0.0]

def short(samples, reference=None):
    return [1.0, 2.0]

def text(samples, reference=None):
    return [1.0, 2.0, "3", 4.0]

def flags(samples, reference=None):
    return [True, False, True, True]

def table(samples, reference=None):
    return samples[["num_tokens"]]

def matrix(samples, reference=None):
    return np.ones((4, 2))

def scalar(samples, reference=None):
    return 1.0

def nothing(samples, reference=None):
    pass

def ragged(samples, reference=None):
    return [[1.0], [1.0, 2.0], 3.0, 4.0]

def unstable(samples, reference=None):
    return [0.0, 1.0, 2.0, 3.0]

def two_args(samples, extra):
    return [0.0] * len(samples)
"""
# Rows 0 and 3 are the same response.
SAMPLES = pd.DataFrame(
    {
        "sample_index": [10, 11, 12, 13],
        "token_ids": [[5, 2], [7, 8, 2], [4], [5, 2]],
        "text": ["banana", "sky", "oui", "banana"],
        "num_tokens": [2, 3, 1, 2],
    }
)


@pytest.fixture
def module_dir(tmp_path, monkeypatch):
    (tmp_path / "my_rewards.py").write_text(MODULE)
    (tmp_path / "broken.py").write_text("def f(samples, reference=None):\n    return [\n")
    (tmp_path / "needs_dep.py").write_text("import not_a_real_dependency_xyz\n")
    (tmp_path / "raises.py").write_text("raise RuntimeError('no GPU here')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def python_reward(spec):
    return load_reward(RewardSpec("mine", kind="python", function=spec))


def test_module_and_file_specs_give_the_same_function(module_dir):
    by_module = python_reward("my_rewards:vowels")(SAMPLES)
    by_file = python_reward(f"{module_dir}/my_rewards.py:vowels")(SAMPLES)
    assert by_module.dtype == np.float64 and by_module.tolist() == by_file.tolist() == [3.0, 0.0, 3.0, 3.0]


def test_prompt_reaches_functions_that_take_it(module_dir):
    assert python_reward("my_rewards:with_prompt")(SAMPLES, prompt="hi").tolist() == [8.0, 5.0, 5.0, 8.0]
    assert python_reward("my_rewards:with_kwargs")(SAMPLES, prompt="hi").tolist() == [1.0] * 4
    vowels = resolve_function("my_rewards:vowels")
    assert not accepts_prompt(vowels) and accepts_prompt(resolve_function("my_rewards:with_prompt"))
    assert python_reward("my_rewards:vowels")(SAMPLES, reference="x", prompt="hi").tolist() == [3.0, 0.0, 3.0, 3.0]


def test_builtin_rewards_are_called_as_before():
    frame = SAMPLES.assign(logprob=[-1.0, -2.0, -3.0, -1.0], finished=[True, True, False, True])
    assert load_reward("neg_length")(frame, prompt="ignored").tolist() == [-2.0, -3.0, -2.0, -2.0]
    assert load_reward(RewardSpec("loglik"))(frame).tolist() == [-1.0, -2.0, -3.0, -1.0]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("no_colon", r"'no_colon' is not of the form 'module:function'"),
        ("my_rewards:", r"give a module \(or .py file\) and a function name"),
        (":vowels", r"give a module \(or .py file\) and a function name"),
        ("my_rewards:1st", r"give a module \(or .py file\) and a function name"),
        ("no_such_module_xyz:f", r"no module named 'no_such_module_xyz'; install it, add its folder to PYTHONPATH"),
        ("my_rewards:missing", r"'my_rewards' has no attribute 'missing'; callables there: \[.*'vowels'"),
        ("my_rewards:SCALE", r"my_rewards.SCALE is a int, not a function"),
        ("my_rewards:two_args", r"must accept \(samples, reference=None\) .* signature is \(samples, extra\)"),
        ("broken:f", r"importing 'broken' failed \(SyntaxError: "),
        ("needs_dep:f", r"it needs module 'not_a_real_dependency_xyz', which is not installed here"),
        ("raises:f", r"importing 'raises' failed \(RuntimeError: no GPU here\); fix the module"),
        ("missing/file.py:f", r"file .*missing/file.py does not exist; fix the path before the ':'"),
    ],
)
def test_bad_spec_is_one_clear_error(module_dir, spec, message):
    with pytest.raises(ValueError, match=message) as caught:
        python_reward(spec)
    assert spec in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.__cause__ is None and (caught.value.__context__ is None or caught.value.__suppress_context__)


@pytest.mark.parametrize(
    "function, message",
    [
        ("nan", r"row 1 \(sample_index 11\) is nan; rewards must be finite"),
        ("infinite", r"row 2 \(sample_index 12\) is -inf; rewards must be finite"),
        ("short", r"returned 2 values for 4 samples; return one per sample"),
        ("text", r"row 2 \(sample_index 12\) is '3' \(str\), not a real number"),
        ("flags", r"row 0 \(sample_index 10\) is True \(bool\), not a real number"),
        ("table", r"returned a table; return one value per sample"),
        ("matrix", r"returned an array of shape \(4, 2\); return one value per sample \(4 values\)"),
        ("scalar", r"returned 1.0; return one value per sample"),
        ("nothing", r"returned None; return one value per sample"),
        ("ragged", r"row 0 \(sample_index 10\) is \[1.0\] \(list\), not a real number"),
        ("unstable", r"row 0 .* and row 3 \(sample_index 13\) are the same response but got 0.0 and 3.0"),
    ],
)
def test_bad_output_names_the_spec_row_and_value(module_dir, function, message):
    with pytest.raises(ValueError, match=r"reward 'mine' \(python 'my_rewards:" + function + r"'\): " + message):
        python_reward(f"my_rewards:{function}")(SAMPLES)


def test_series_output_is_taken_in_row_order():
    values = check_values("x", pd.Series([4, 3, 2, 4], index=[9, 8, 7, 6]), SAMPLES)
    assert values.dtype == np.float64 and values.tolist() == [4.0, 3.0, 2.0, 4.0]


def test_a_bad_spec_prints_one_line_in_a_workflow_script(module_dir):
    """What the score job's log shows: the message, no traceback (``one_line_errors``)."""
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(module_dir)!r})
        from bonkl.pipeline.errors import one_line_errors
        from bonkl.lm.reward_spec import RewardSpec, load_reward
        one_line_errors()
        load_reward(RewardSpec("mine", kind="python", function="broken:f"))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "ValueError: python reward 'broken:f': importing 'broken' failed (SyntaxError: '[' was never closed "
        "(broken.py, line 2)); fix the module"
    ]
