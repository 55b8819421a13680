"""config/README.md is generated from the schema's descriptions and says what the schema says."""

from __future__ import annotations

import re

import yaml
from workflow_helpers import REPO

from bonkl.pipeline import config_readme
from bonkl.pipeline.workflow_config import CONFIG_SCHEMA


def test_config_readme_is_up_to_date(monkeypatch):
    monkeypatch.chdir(REPO)
    assert (REPO / config_readme.README).read_text() == config_readme.render(), (
        "config/README.md is stale: run `python -m bonkl.pipeline.config_readme`"
    )
    assert config_readme.main(["--check"]) == 0


def test_every_key_of_the_schema_has_a_described_row():
    text = config_readme.render(REPO / CONFIG_SCHEMA)
    rows = re.findall(r"(?m)^\| `([^`]+)` \| (.*) \| (.*) \| (.*) \|$", text)
    assert rows and all(description.strip() for *_, description in rows), [key for key, *_, d in rows if not d]
    keys = {key for key, *_ in rows}
    for section in yaml.safe_load((REPO / CONFIG_SCHEMA).read_text())["properties"]:
        assert any(key.startswith(f"{section}.") for key in keys), section
    assert {"lm.sampling.num_samples", "lm.n", "plot.figures.fig02_uniform_kl.width"} <= keys


def test_allowed_values_and_defaults_read_from_the_schema():
    text = config_readme.render(REPO / CONFIG_SCHEMA)
    assert "| `lm.sampling.num_samples` | `256` | an integer in [2, 100000000] |" in text
    assert "| `plot.figures.fig02_uniform_kl.width` | `6.8` |" in text  # the figure's own default wins
    assert "| `lm.estimate.method` | `unbiased` | one of `unbiased`, `plugin` |" in text


def test_a_stale_readme_is_reported(tmp_path, monkeypatch, capsys):
    (tmp_path / "workflow" / "schemas").mkdir(parents=True)
    (tmp_path / CONFIG_SCHEMA).write_text((REPO / CONFIG_SCHEMA).read_text())
    (tmp_path / "config").mkdir()
    (tmp_path / config_readme.README).write_text("# old\n")
    monkeypatch.chdir(tmp_path)
    assert config_readme.main(["--check"]) == 1 and "python -m bonkl.pipeline.config_readme" in capsys.readouterr().err
    assert config_readme.main([]) == 0 and config_readme.main(["--check"]) == 0
