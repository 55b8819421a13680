"""Bad configs, overrides, prompt files and model paths: one clear message before any job, and
overrides that mean what they say. Checks of the config's preparation on the shipped schema (unit
tests: tests/pipeline/test_workflow_config.py), then dry runs of the built workflow (nothing is written)."""

from __future__ import annotations

import copy

import pytest
import yaml
from fault_helpers import REPO
from workflow_helpers import job_counts, write_config

from bonkl.pipeline.workflow_config import prepare_config

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def default_config() -> dict:
    """config/config.yaml with the schema's defaults filled, as the Snakefile sees it."""
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    validate(config, str(SCHEMA), set_default=True)
    return config


# -- --config values arrive as text (Snakemake's YAML BaseLoader); typed by the schema --


@pytest.mark.parametrize(
    "given, key, expected",
    [
        ({"lm": {"sampling": {"num_samples": "64"}}}, ("lm", "sampling", "num_samples"), 64),
        ({"lm": {"sampling": {"num_samples": "1e2"}}}, ("lm", "sampling", "num_samples"), 100),
        ({"lm": {"n": ["1", "2.5", "1e3"]}}, ("lm", "n"), [1, 2.5, 1000.0]),
        ({"lm": {"model": {"gguf_file": "null"}}}, ("lm", "model", "gguf_file"), None),
        ({"lm": {"model": {"name": "123"}}}, ("lm", "model", "name"), "123"),  # a string key stays text
        ({"lm": {"model": {"attn_implementation": "eager"}}}, ("lm", "model", "attn_implementation"), "eager"),
        ({"claims": {"fail_on_violation": "false"}}, ("claims", "fail_on_violation"), False),
        (
            {"plot": {"figures": {"fig01_example1_kl": {"xlim": "[1, 10]"}}}},
            ("plot", "figures", "fig01_example1_kl", "xlim"),
            [1, 10],
        ),
        (
            {"top_outcomes": {"panels": {"a": {"alphabet_size": "10", "top_masses": ["1e-4"]}}}},
            ("top_outcomes", "panels", "a", "top_masses"),
            [1e-4],
        ),
        ({"lm": {"sampling": {"num_samples": "abc"}}}, ("lm", "sampling", "num_samples"), "abc"),  # left for the schema
        ({"lm": {"sampling": {"num_samples": "2.5"}}}, ("lm", "sampling", "num_samples"), "2.5"),
    ],
)
def test_override_text_is_typed_by_the_schema(given, key, expected):
    config = copy.deepcopy(given)
    prepare_config(config, SCHEMA)
    value = config
    for part in key:
        value = value[part]
    assert value == expected and type(value) is type(expected)


def test_null_drops_a_default_prompt_set_with_its_rewards_and_figures():
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["lm"]["prompt_sets"].update(alpaca=None, mine="my.yaml")
    prepare_config(config, SCHEMA)
    lm = config["lm"]
    assert set(lm["prompt_sets"]) == {"translation", "mine"} and "alpaca" not in lm["rewards"]
    assert all(f["prompt_set"] != "alpaca" for f in lm["figures"].values())
    assert set(lm["figures"]) == {s for s in lm["figures"] if s.startswith(("fig10", "fig11", "fig12"))}


# -- prompt files and model paths, checked when the plan is made (before any job) --

BAD_PROMPTS = {
    "unclosed": ("prompts: [{id: a, text: x", "is not valid YAML at line 1"),
    "tab_indent": ("prompts:\n\t- id: a\n", "is not valid YAML"),
    "not_a_mapping": ("- a\n- b\n", "top level: ['a', 'b'] is not of type 'object'"),
    "no_prompts": ("prompt_set: x\n", "'prompts' is a required property"),
    "empty_list": ("prompts: []\n", "should be non-empty"),
    "numeric_id": ("prompts: [{id: 3, text: x}]\n", "prompts[0].id: 3 is not of type 'string'"),
    "spaced_id": ("prompts: [{id: a b, text: x}]\n", "prompts[0].id"),
    "newline_id": ('prompts: [{id: "Q1\\n", text: x}]\n', "prompts[0].id: 'Q1\\n' does not match"),
    "blank_text": ("prompts: [{id: a, text: '  '}]\n", "prompts[0].text"),
    "unknown_key": ("prompts: [{id: a, text: x, answer: y}]\n", "'answer' was unexpected"),
    "duplicate_id": ("prompts: [{id: a, text: x}, {id: a, text: y}]\n", "prompts[1].id: duplicate id 'a'"),
    "empty_file": ("", "top level: None is not of type 'object'"),
}


@pytest.mark.parametrize("case", sorted(BAD_PROMPTS))
def test_bad_prompt_file_names_the_file(tmp_path, case):
    from bonkl.pipeline.lm_targets import LMPlan

    text, words = BAD_PROMPTS[case]
    path = tmp_path / "alpaca.yaml"
    path.write_text(text)
    config = default_config()
    config["lm"]["prompt_sets"]["alpaca"] = str(path)
    with pytest.raises(ValueError) as error:
        LMPlan(config)
    assert f"prompt file {path}" in str(error.value) and words in str(error.value), str(error.value)


@pytest.mark.parametrize(
    "path, words",
    [
        ("resources/nope", "'resources/nope' does not exist"),  # looks like org/name, but resources/ is here
        ("./nope", "'./nope' does not exist"),
        ("nope.gguf", "does not exist"),
        ("org/absent", "not in the hub cache"),  # a hub id must be downloaded first
    ],
)
def test_model_path_is_checked_before_any_job(tmp_path, monkeypatch, path, words):
    from huggingface_hub import constants

    from bonkl.pipeline.lm_targets import LMPlan

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    config = default_config()
    for name, file in config["lm"]["prompt_sets"].items():
        config["lm"]["prompt_sets"][name] = str(REPO / file)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "resources").mkdir()
    config["lm"]["model"].update(provide="none", path=path, gguf_file=None)
    with pytest.raises(ValueError, match="lm.model.path") as error:
        LMPlan(config)
    assert words in str(error.value)


def test_a_model_name_with_a_final_newline_is_refused():
    from snakemake.utils import validate

    config = default_config()
    config["lm"]["model"]["name"] = "tiny\n"
    with pytest.raises(Exception, match="does not match"):
        validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"), set_default=True)


def test_snakefile_run_from_another_folder_names_the_missing_config(tmp_path):
    """snakemake -s path/to/Snakefile elsewhere: the missing config/config.yaml, not a later symptom."""
    from workflow_helpers import copy_workflow, snakemake

    workflow = copy_workflow(tmp_path / "repo")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    args = ("-s", str(workflow / "Snakefile"), "-n", "--configfile", str(workflow / ".test/config_tiny/config.yaml"))
    result = snakemake(elsewhere, *args, check=False)
    assert result.returncode != 0
    assert f"config/config.yaml is not in the working directory {elsewhere}" in result.stdout, result.stdout[-2000:]
    assert f"--directory {workflow}" in result.stdout and "prompt file" not in result.stdout


# -- the built workflow: overrides, caching, errors (dry runs) --


def test_batch_size_change_redraws_nothing(built):
    config = built.config()
    config["lm"]["model"]["batch_size"] = 3
    write_config(built.path("batch3.yaml"), config)
    before = job_counts(built.run("-n", "all", "--configfile", *built.configfiles).stdout)  # {} on a clean build
    after = job_counts(built.run("-n", "all", "--configfile", "batch3.yaml").stdout)
    assert after == before, (before, after)


def test_typed_override_and_dropped_prompt_set(built):
    config = built.config()
    config["lm"]["prompt_sets"] = {"translation": None}
    write_config(built.path("drop.yaml"), config)
    result = built.run("-n", "all", "--configfile", "drop.yaml", "--config", "lm={sampling: {num_samples: 64}}")
    counts = job_counts(result.stdout)
    assert counts.get("sample") == 4 and "prompt_set=translation" not in result.stdout, result.stdout[-2000:]
    assert "fig10_translation" not in result.stdout  # its figures went with it


@pytest.mark.parametrize(
    "args, words",
    [
        (["--config", "lm={sampling: {num_samples: abc}}"], "Invalid config at lm.sampling.num_samples: 'abc'"),
        (
            ["--config", "lm={model: {provide: none, path: resources/nope, gguf_file: null}}"],
            "lm.model.path 'resources/nope' does not exist",
        ),
    ],
)
def test_bad_override_fails_before_any_job(built, args, words):
    result = built.run("-n", "all", "--configfile", *built.configfiles, *args, check=False)
    assert result.returncode != 0 and words in result.stdout, result.stdout[-3000:]
