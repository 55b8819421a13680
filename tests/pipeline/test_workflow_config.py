"""The config before any job: --config text typed by the schema, null removals, one-line validation
errors, and the closed-form checks (bonkl.pipeline.workflow_config), on a small schema written here.
(tests/faults/test_config_faults.py runs the same on the shipped schema and the built workflow.)"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from bonkl.pipeline.workflow_config import CONFIG_SCHEMA, check_closed_form_config, config_error, prepare_config

REPO = Path(__file__).resolve().parents[2]

SCHEMA = {
    "$defs": {"count": {"type": "integer", "minimum": 1, "description": "how many draws"}},
    "type": "object",
    "properties": {
        "count": {"$ref": "#/$defs/count"},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean"},
        "file": {"type": ["string", "null"]},
        "cap": {"oneOf": [{"type": "integer"}, {"type": "null"}]},
        "grid": {"type": "array", "items": {"type": "number"}},
        "options": {"type": "object", "properties": {"size": {"type": "integer"}}, "additionalProperties": False},
        "mode": {"enum": ["fast", "slow"]},
        "name": {"type": "string"},
        "lm": {
            "type": "object",
            "properties": {
                "prompt_sets": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
                "rewards": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                "figures": {
                    "type": "object",
                    "additionalProperties": {"type": "object", "properties": {"prompt_set": {"type": "string"}}},
                },
            },
        },
    },
    "additionalProperties": False,
}


@pytest.fixture
def schema_file(tmp_path) -> Path:
    path = tmp_path / "schema.yaml"
    path.write_text(yaml.safe_dump(SCHEMA))
    return path


@pytest.mark.parametrize(
    "key, text, expected",
    [
        ("count", "64", 64),  # through a $ref
        ("count", "1e2", 100),  # a whole number written as a float is an integer
        ("count", "2.5", "2.5"),  # not an integer: left for the schema to refuse
        ("count", "abc", "abc"),
        ("ratio", "2.5", 2.5),
        ("ratio", "3", 3),
        ("flag", "False", False),
        ("flag", "yes", "yes"),
        ("file", "null", None),
        ("file", "~", None),
        ("file", "model.gguf", "model.gguf"),
        ("cap", "7", 7),  # oneOf
        ("cap", "none", None),
        ("grid", ["1", "2.5", "1e3"], [1, 2.5, 1000.0]),  # each item
        ("grid", "[1, 2]", [1, 2]),  # the whole list as text
        ("options", "{size: '3'}", {"size": 3}),  # a mapping as text, typed inside too
        ("mode", "fast", "fast"),  # an enum of strings is text
        ("name", "123", "123"),
    ],
)
def test_text_is_typed_by_the_schema(schema_file, key, text, expected):
    config = {key: copy.deepcopy(text)}
    prepare_config(config, schema_file)
    assert config[key] == expected and type(config[key]) is type(expected)


def test_unknown_keys_and_fixed_keys_set_to_null_are_left_for_the_schema(schema_file):
    config = {"other": "5", "file": None}
    prepare_config(config, schema_file)
    assert config == {"other": "5", "file": None}


def test_null_drops_a_prompt_set_with_its_rewards_and_figures(schema_file):
    config = {
        "lm": {
            "prompt_sets": {"a": "a.yaml", "b": None},
            "rewards": {"a": ["loglik"], "b": ["loglik", "chrf"]},
            "figures": {"fig_a": {"prompt_set": "a"}, "fig_b": {"prompt_set": "b"}},
        }
    }
    prepare_config(config, schema_file)
    assert config["lm"] == {
        "prompt_sets": {"a": "a.yaml"},
        "rewards": {"a": ["loglik"]},
        "figures": {"fig_a": {"prompt_set": "a"}},
    }


def validation_error(instance):
    """What snakemake.utils.validate raises: a WorkflowError raised while handling the ValidationError."""
    import jsonschema
    from snakemake.exceptions import WorkflowError

    try:
        try:
            jsonschema.validate(instance, SCHEMA)
        except jsonschema.ValidationError:
            raise WorkflowError("Error validating config file.") from None
    except WorkflowError as error:
        return error
    raise AssertionError(f"{instance} is valid")


@pytest.mark.parametrize(
    "instance, message",
    [
        (
            {"count": "abc"},
            "Invalid config at count: 'abc' is not of type 'integer' (count: how many draws). "
            "A value given with --config is text",
        ),
        ({"count": 0}, "Invalid config at count: 0 is less than the minimum of 1 (count: how many draws)."),
        (
            {"options": {"sise": 3}},
            "Invalid config at options: Additional properties are not allowed ('sise' was unexpected). "
            "Allowed keys at options: size.",
        ),
        (
            {"cout": 3},
            "Invalid config at the top level: Additional properties are not allowed ('cout' was unexpected). "
            "Allowed keys at the top level: cap, count, file, flag, grid, lm, mode, name, options, ratio.",
        ),
    ],
)
def test_a_validation_error_becomes_one_message_naming_the_key(instance, message):
    from snakemake.exceptions import WorkflowError

    error = config_error(validation_error(instance))
    assert isinstance(error, WorkflowError)
    text = str(error)
    assert message in text and text.rstrip().endswith(f"Every key, its range and its default: {CONFIG_SCHEMA}"), text


def test_snakemake_validate_on_the_shipped_schema_names_the_key():
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    config = {"lm": {"sampling": {"num_samples": "abc"}}}
    with pytest.raises(WorkflowError) as raised:
        validate(config, str(REPO / CONFIG_SCHEMA), set_default=True)
    assert "Invalid config at lm.sampling.num_samples: 'abc'" in str(config_error(raised.value))


def test_other_errors_pass_through_unchanged():
    from snakemake.exceptions import WorkflowError

    error = WorkflowError("something else")
    assert config_error(error) is error


# -- what the schema cannot express --


@pytest.fixture
def shipped() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_the_shipped_closed_form_config_passes(shipped):
    check_closed_form_config(shipped)


@pytest.mark.parametrize(
    "change, named",
    [
        (
            lambda c: c["example2"].update(masses=[0.5, 0.3, 0.3]),
            "config example2.masses [0.5, 0.3, 0.3] must sum to 1",
        ),
        (
            lambda c: c["top_outcomes"]["panels"]["a"].update(alphabet_size=1),
            "config top_outcomes.panels.a.alphabet_size (1) must exceed the number of top_masses",
        ),
        (
            lambda c: c["top_outcomes"]["panels"]["a"].update(top_masses=[0.6, 0.4]),
            "config top_outcomes.panels.a.top_masses [0.6, 0.4] must sum to less than 1",
        ),
        (lambda c: c["example2"].update(beta_min=5.0, beta_max=5.0), "config example2.beta_min (5.0) must be below"),
        (lambda c: c["example3"].update(beta_min=2.0, beta_max=1.0), "config example3.beta_min (2.0) must be below"),
    ],
)
def test_closed_form_checks_name_the_key(shipped, change, named):
    change(shipped)
    with pytest.raises(ValueError) as raised:
        check_closed_form_config(shipped)
    assert named in str(raised.value), str(raised.value)
