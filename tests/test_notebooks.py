"""The notebooks run end to end, and bonkl.results says which rule to run when a result is missing.

``notebooks/01_closed_form_examples.ipynb`` needs no results. ``notebooks/02_results_browser.ipynb``
reads a tiny run of the workflow (``.test/config_tiny/config.yaml``: a random model, no download; two prompts per
prompt set) built once per session in a temporary copy of the workflow; the notebook finds it through
``$BONKL_RESULTS``.

The notebooks run on a kernel spec written for this test into a temporary folder, whose ``argv`` is
this interpreter (``sys.executable -m ipykernel_launcher``): no ``ipykernel install`` is needed, and
the notebooks always see the environment under test, whatever kernels the machine has installed.
Parameters are injected papermill-style: a cell after the one tagged ``parameters``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from bonkl import results

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
CLOSED_FORM = NOTEBOOKS / "01_closed_form_examples.ipynb"
BROWSER = NOTEBOOKS / "02_results_browser.ipynb"
TINY_MODEL = "tiny-random"
KERNEL = "bonkl-notebook-test"


# ------------------------------------------------------------------------------------- helpers


@pytest.fixture(scope="session")
def kernel_dir(tmp_path_factory) -> Path:
    """A kernel spec that runs this interpreter (so the kernel imports the bonkl under test)."""
    folder = tmp_path_factory.mktemp("kernels")
    spec = folder / KERNEL
    spec.mkdir()
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"Python ({sys.executable})",
                "language": "python",
            }
        )
    )
    return folder


def execute(
    path: Path, kernel_dir: Path, *, parameters: dict | None = None, env: dict | None = None, timeout: int = 300
) -> nbformat.NotebookNode:
    """Run a notebook (cwd ``notebooks/``) with ``parameters`` injected after its parameters cell."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    nb = nbformat.read(path, as_version=4)
    tagged = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected one cell tagged 'parameters', found {len(tagged)}"
    if parameters:
        source = "# Injected parameters\n" + "\n".join(f"{key} = {value!r}" for key, value in parameters.items())
        nb.cells.insert(tagged[0] + 1, nbformat.v4.new_code_cell(source))
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
    client = NotebookClient(nb, km=manager, timeout=timeout, resources={"metadata": {"path": str(NOTEBOOKS)}})
    kernel_env = dict(os.environ, MPLBACKEND="Agg")
    for key in (results.ENV_RESULTS, results.ENV_MODEL):
        kernel_env.pop(key, None)
    kernel_env.update(env or {})
    client.execute(env=kernel_env)
    return nb


def outputs(nb, kind: str | None = None):
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if kind is None or output.get("output_type") == kind:
                yield output


def images(nb) -> list[str]:
    return [o["data"]["image/png"] for o in outputs(nb, "display_data") if "image/png" in o.get("data", {})]


def text(nb) -> str:
    parts = []
    for output in outputs(nb):
        if output.get("output_type") == "stream":
            parts.append(output["text"])
        elif "text/plain" in output.get("data", {}):
            parts.append(output["data"]["text/plain"])
    return "\n".join(parts)


def html_tables(nb) -> list[str]:
    return [o["data"]["text/html"] for o in outputs(nb) if "<table" in o.get("data", {}).get("text/html", "")]


# ------------------------------------------------------------------ the tiny run of the workflow


@pytest.fixture(scope="session")
def tiny_results(built) -> Path:
    """``results/`` of the session's workflow run (tests/conftest.py): the tiny language model,
    the claims table and the closed-form figures, built once for the workflow and notebook tests."""
    return built.path("results")


# ----------------------------------------------------------------------------- the notebooks


@pytest.mark.parametrize("path", [CLOSED_FORM, BROWSER], ids=lambda p: p.stem)
def test_committed_notebooks_have_no_outputs_and_a_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip the outputs"
            assert "execution" not in cell.metadata, f"{path.name}: strip the execution timings"
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1


def test_closed_form_notebook(kernel_dir, tmp_path):
    figures = tmp_path / "figures"
    nb = execute(
        CLOSED_FORM,
        kernel_dir,
        parameters={"N_MAX": 2000, "NUM_N": 40, "NUM_Q": 60, "NUM_BETA": 40, "DPI": 60, "FIGURE_DIR": str(figures)},
    )
    assert len(images(nb)) >= 5
    assert {p.stem for p in figures.glob("*.png")} >= {"bon_pmf", "kl", "win_rate", "tradeoff", "simplex"}
    shown = text(nb)
    for claim in ("Theorem 3.1", "Conjecture 4.4", "eq. 23"):
        assert f"{claim}" in shown
    assert "VIOLATED" not in shown and shown.count(": holds") == 3
    assert len(html_tables(nb)) >= 3  # the model, the KL and the win-rate tables


def test_closed_form_notebook_with_more_than_three_outcomes(kernel_dir, tmp_path):
    nb = execute(
        CLOSED_FORM,
        kernel_dir,
        parameters={
            "MASSES": [0.9, 0.09, 0.009, 0.001],
            "N_MAX": 5000,
            "NUM_N": 30,
            "NUM_Q": 40,
            "NUM_BETA": 30,
            "DPI": 50,
        },
    )
    assert len(images(nb)) >= 4
    assert "The simplex needs exactly three masses" in text(nb)


def test_results_browser_notebook(kernel_dir, tiny_results, tmp_path):
    figures = tmp_path / "figures"
    nb = execute(
        BROWSER,
        kernel_dir,
        parameters={"DPI": 50, "FIGURE_DIR": str(figures)},
        env={results.ENV_RESULTS: str(tiny_results), results.ENV_MODEL: TINY_MODEL},
    )
    table = results.read_lm_table(TINY_MODEL, root=tiny_results)
    # One estimator figure per prompt set and reward, one win-rate figure per prompt set.
    expected = {
        f"estimates_{s}_{r}" for s, r in table[["prompt_set", "reward"]].drop_duplicates().itertuples(index=False)
    }
    expected |= {f"win_rate_{s}" for s in table["prompt_set"].unique()}
    assert {p.stem for p in figures.glob("*.png")} == expected
    assert len(images(nb)) == len(expected)
    shown = text(nb)
    assert f"model: {TINY_MODEL}" in shown
    assert "every claim holds" in shown
    prompts = table[["prompt_set", "prompt_id"]].drop_duplicates()
    # Overview, the samples and winners of each prompt (winners: one table per reward), and the claims.
    assert (
        len(html_tables(nb))
        == 1 + len(prompts) + len(table[["prompt_set", "prompt_id", "reward"]].drop_duplicates()) + 1
    )


def test_read_pool_is_the_pool_the_workflow_estimated(tiny_results):
    """The browser's best-of-n numbers come from the same pools as the workflow's table."""
    from bonkl.pool import pool_estimates

    table = results.read_lm_table(TINY_MODEL, root=tiny_results)
    table = table[table["tilt"] == table["tilt"].min()]
    for (prompt_set, prompt_id, reward), part in table.groupby(["prompt_set", "prompt_id", "reward"]):
        pool, samples = results.read_pool(TINY_MODEL, prompt_set, prompt_id, reward, root=tiny_results)
        assert len(samples) == part["num_samples"].iloc[0] and pool.key.size == part["num_outcomes"].iloc[0]
        mine = pool_estimates(pool, part["n"].to_numpy())
        for column in ("kl_estimator_mean", "kl_corollary_4_2_bound", "win_rate"):
            assert mine[column].to_numpy() == pytest.approx(
                part[column].to_numpy(), rel=1e-9, abs=1e-12, nan_ok=True
            ), column


def test_results_browser_says_which_rule_to_run_without_results(kernel_dir, tmp_path):
    empty = tmp_path / "results"
    empty.mkdir()
    with pytest.raises(CellExecutionError) as failure:
        execute(BROWSER, kernel_dir, env={results.ENV_RESULTS: str(empty)})
    assert "FileNotFoundError" in str(failure.value)
    assert "snakemake --cores 2 lm" in str(failure.value)


# --------------------------------------------------------------------------------- bonkl.results


def test_results_dir_from_the_repository_notebooks_and_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(results.ENV_RESULTS, raising=False)
    for cwd in (REPO, NOTEBOOKS):
        monkeypatch.chdir(cwd)
        assert results.results_dir() == REPO / "results"
    monkeypatch.setenv(results.ENV_RESULTS, str(tmp_path))
    assert results.results_dir() == tmp_path.resolve()
    (tmp_path / "Snakefile").write_text("")
    assert results.results_dir(tmp_path) == tmp_path.resolve() / "results"  # a repository root
    assert results.results_dir(tmp_path / "results") == tmp_path.resolve() / "results"


def test_missing_results_name_the_command_to_run(monkeypatch, tmp_path):
    monkeypatch.delenv(results.ENV_MODEL, raising=False)
    monkeypatch.setenv(results.ENV_RESULTS, str(tmp_path / "results"))
    assert results.list_models() == []
    cases = [
        (results.read_claims, (), ["results/tables/claims.csv is missing", "`snakemake --cores 2 claims`"]),
        (
            results.resolve_model,
            (),
            ["`snakemake --cores 2 lm`", "`snakemake --cores 2 lm --configfile .test/config_tiny/config.yaml`"],
        ),
        (
            results.read_lm_table,
            (TINY_MODEL,),
            [
                "results/lm/tiny-random/tables/estimates.csv is missing",
                "`snakemake --cores 2 lm --configfile .test/config_tiny/config.yaml`",
                "aggregate",
            ],
        ),
        (results.read_lm_table, ("my-model",), ["`snakemake --cores 2 lm`"]),
        (
            results.read_samples,
            (TINY_MODEL, "alpaca", "P1"),
            [
                "results/lm/tiny-random/samples/alpaca/P1.parquet is missing",
                "rule sample",
                "`snakemake --cores 2 results/lm/tiny-random/samples/alpaca/P1.parquet"
                " --configfile .test/config_tiny/config.yaml`",
            ],
        ),
        (
            results.read_rewards,
            (TINY_MODEL, "alpaca", "P1", "loglik"),
            ["results/lm/tiny-random/rewards/alpaca/P1/loglik.parquet is missing", "rule score"],
        ),
        (results.read_figure_table, ("fig01_example1_kl",), ["`snakemake --cores 2 closed_form`"]),
        (results.read_figure_table, ("fig04_alpaca_loglik",), ["`snakemake --cores 2 lm`"]),
    ]
    for reader, args, phrases in cases:
        with pytest.raises(FileNotFoundError) as error:
            reader(*args)
        for phrase in phrases:
            assert phrase in str(error.value), (reader.__name__, str(error.value))


def test_model_choice(monkeypatch, tmp_path):
    monkeypatch.setenv(results.ENV_RESULTS, str(tmp_path))
    monkeypatch.delenv(results.ENV_MODEL, raising=False)
    for name in ("b-model", "a-model"):
        (tmp_path / "lm" / name).mkdir(parents=True)
    pd.DataFrame({"n": [1]}).to_csv(tmp_path / "lm" / "b-model" / "estimates.csv")
    assert results.list_models() == ["a-model", "b-model"]
    assert results.resolve_model() == "a-model"  # no tables: the first model
    (tmp_path / "lm" / "b-model" / "tables").mkdir()
    pd.DataFrame({"n": [1]}).to_csv(tmp_path / "lm" / "b-model" / "tables" / "estimates.csv", index=False)
    assert results.resolve_model() == "b-model"  # the first model with its table
    assert results.read_lm_table()["n"].tolist() == [1]
    monkeypatch.setenv(results.ENV_MODEL, "a-model")
    assert results.resolve_model() == "a-model"
    assert results.resolve_model("c-model") == "c-model"
