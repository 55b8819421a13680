"""The workflow end to end: closed-form figures, their numbers, caching, config validation, report.

One session-scoped build (``conftest.built``) with a small config; the other checks are dry runs
against it, or runs in fresh copies that must stop before any job.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pandas as pd
import pytest
from workflow_helpers import CLOSED_FORM_FIGURES, SMALL_CONFIG, copy_workflow, job_counts, snakemake, write_config

import bonkl
from bonkl.plotting.closed_form import FIGURES

pytestmark = [pytest.mark.workflow, pytest.mark.slow]


def table(built, stem):
    return pd.read_csv(built.path(f"results/figures/{stem}.csv"))


# ------------------------------------------------------------------------------------ outputs


def test_every_closed_form_figure_is_built_as_png_pdf_and_csv(built):
    for stem in CLOSED_FORM_FIGURES:
        png = built.path(f"results/figures/{stem}.png").read_bytes()
        pdf = built.path(f"results/figures/{stem}.pdf").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), stem
        assert pdf.startswith(b"%PDF"), stem
        assert len(table(built, stem)) > 0, stem
        assert built.path(f"logs/closed_form/{stem}_plot.log").exists(), stem
    # No partial files left behind by the atomic writes.
    assert not list(built.path("results").rglob(".*partial*"))


def test_fig01_is_eq5_against_n(built):
    """Example 1: KL = log 2 - h(2^-n), eq. 4 and the expectation of eq. 25, written out here."""
    t = table(built, "fig01_example1_kl")
    n = t["n"].to_numpy(dtype=float)
    assert n[0] == 1 and n[-1] == SMALL_CONFIG["example1_kl"]["n_max"] and np.all(np.diff(n) > 0)
    x = 2.0**-n
    entropy = -x * np.log(x) - (1 - x) * np.log1p(-x)
    np.testing.assert_allclose(t["kl_exact"], np.log(2) - entropy, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(t["kl_bon"], np.log(n) - (n - 1) / n, rtol=1e-12, atol=1e-15)
    # Both outcomes have mass 1/2, so KLhat (eq. 25) is the same for every draw: KLhat(1/2).
    a = 0.5**n
    khat = a * (np.log(n) - (n - 1) / n + (n - 1) * np.log(0.5)) + (1 - a) * np.log((1 - a) / 0.5)
    np.testing.assert_allclose(t["kl_estimator_mean"], khat, rtol=1e-12, atol=1e-15)
    # docs/MATH.md: eq. 25 tracks the exact KL to within 2^-n (log n - (n-1)/n); the exact KL is below log 2.
    assert np.all(np.abs(t["kl_estimator_mean"] - t["kl_exact"]) <= x * t["kl_bon"] + 1e-12)
    assert np.all(t["kl_exact"] <= math.log(2)) and np.all(t["kl_exact"] <= t["kl_bon"] + 1e-15)


def test_fig09_is_the_closed_forms_of_example3(built):
    """Example 3, every point against the closed forms of Section 7 evaluated with mpmath."""
    t = table(built, "fig09_example3_tradeoff")
    assert set(t["family"]) == {"best_of_n", "rewind_repeat", "optimal"}
    mpmath.mp.dps = 50
    for row in t.itertuples():
        x = mpmath.mpf(row.parameter)
        if row.family == "best_of_n":
            kl, win = mpmath.log(x) - (x - 1) / x, x / (x + 1)
        elif row.family == "rewind_repeat":
            kl, win = mpmath.log(1 / x), 1 - x / 2
        else:
            lam = 1 / x
            win = 1 / (1 - mpmath.exp(-lam)) - 1 / lam
            kl = mpmath.log(lam / (mpmath.exp(lam) - 1)) + lam * win
        assert row.kl == pytest.approx(float(kl), rel=1e-10, abs=1e-14), row
        assert row.win_rate == pytest.approx(float(win), rel=1e-12), row
    # The paper's reading: best-of-n is close to optimal and better than rewind-and-repeat.
    by = {f: part.sort_values("kl") for f, part in t.groupby("family")}
    grid = np.linspace(0.2, 4.0, 20)
    curve = {f: np.interp(grid, part["kl"], part["win_rate"]) for f, part in by.items()}
    assert np.all(curve["optimal"] >= curve["best_of_n"] - 1e-3)
    assert np.all(curve["best_of_n"] > curve["rewind_repeat"])


def test_fig02_matches_bonkl_and_saturates_at_log_alphabet_size(built):
    t = table(built, "fig02_uniform_kl")
    assert sorted(t["alphabet_size"].unique()) == SMALL_CONFIG["uniform"]["alphabet_sizes"]
    for size, part in t.groupby("alphabet_size"):
        p = np.full(size, 1 / size)
        n = part["n"].to_numpy(dtype=float)
        np.testing.assert_allclose(part["kl_exact"], bonkl.kl_exact(p, n), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(part["kl_alternate_mean"], bonkl.expected_kl_alternate(p, n), rtol=1e-12)
        np.testing.assert_allclose(part["kl_estimator_mean"], bonkl.expected_kl_estimator(p, n), rtol=1e-12)
        # Uniform: every draw has eps = 1/L, so eq. 23 is log((1 - (1 - 1/L)^n) L), written out here.
        np.testing.assert_allclose(
            part["kl_alternate_mean"], np.log(-np.expm1(n * np.log1p(-1 / size)) * size), rtol=1e-12
        )
        assert np.all(part["kl_exact"] <= part["kl_bon"] + 1e-12)  # Theorem 3.1
        assert np.all(part["kl_exact"] <= np.log(size) + 1e-12)
        assert part["kl_exact"].iloc[-1] == pytest.approx(np.log(size), abs=0.02)


def test_fig03_matches_bonkl_with_the_tilted_band_around_the_mean(built):
    t = table(built, "fig03_top_outcomes_kl")
    panels = SMALL_CONFIG["top_outcomes"]["panels"]
    assert sorted(t["panel"].unique()) == sorted(panels)
    for label, part in t.groupby("panel"):
        size, tops = panels[label]["alphabet_size"], panels[label]["top_masses"]
        rest = (1 - sum(tops)) / (size - len(tops))
        p = np.array([rest] * (size - len(tops)) + tops[::-1])  # increasing reward, best last
        n = part["n"].to_numpy(dtype=float)
        np.testing.assert_allclose(part["kl_exact"], bonkl.kl_exact(p, n), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(part["kl_estimator_mean"], bonkl.expected_kl_estimator(p, n), rtol=1e-12)
        low, mean, high = part["kl_estimator_tilted_min"], part["kl_estimator_mean"], part["kl_estimator_tilted_max"]
        assert np.all(low <= mean + 1e-12) and np.all(mean <= high + 1e-12)
        assert np.all(mean >= part["kl_exact"] - 1e-12)  # Conjecture 4.4
        # The KL tends to log(1/eps_inf) once the best outcome is found (Corollary 3.7).
        assert part["kl_exact"].iloc[-1] == pytest.approx(-np.log(tops[0]), rel=0.05)


def test_fig06_win_rate_is_three_quarters_minus_half_of_two_to_the_minus_n(built):
    t = table(built, "fig06_example1_tradeoff")
    n = t["n"].to_numpy(dtype=float)
    np.testing.assert_allclose(t["win_rate"], 0.75 - 0.5 * 2.0**-n, rtol=1e-14)
    np.testing.assert_allclose(t["kl_exact"], bonkl.example1_kl(n), rtol=1e-14)
    np.testing.assert_allclose(t["kl_bon"], bonkl.kl_bon(n), rtol=1e-14)


def test_example2_families_on_the_simplex_and_their_tradeoffs(built):
    p = np.array(SMALL_CONFIG["example2"]["masses"])
    simplex = table(built, "fig07_example2_simplex")
    tradeoff = table(built, "fig08_example2_tradeoff")
    rho = simplex[["pi_y1", "pi_y2", "pi_y3"]].to_numpy()
    np.testing.assert_allclose(rho.sum(axis=1), 1, atol=1e-12)
    np.testing.assert_allclose(rho[simplex["family"] == "reference"][0], p)
    # Win rate by Lemma 5.1 with the calibrated reward C = (p1/2, p1 + p2/2, p1 + p2 + p3/2).
    calibrated = np.array([p[0] / 2, p[0] + p[1] / 2, p[0] + p[1] + p[2] / 2])
    np.testing.assert_allclose(tradeoff["win_rate"], rho @ calibrated, rtol=1e-12)
    kl = np.sum(np.where(rho > 0, rho * np.log(np.where(rho > 0, rho, 1) / p), 0), axis=1)
    np.testing.assert_allclose(tradeoff["kl"], kl, rtol=1e-9, atol=1e-14)
    # Best-of-n (Lemma 2.3) written out for three outcomes.
    bon = simplex[simplex["family"] == "best_of_n"]
    n = bon["parameter"].to_numpy()
    F = np.cumsum(p)
    expected = np.stack([F[0] ** n, F[1] ** n - F[0] ** n, 1 - F[1] ** n], axis=1)
    np.testing.assert_allclose(bon[["pi_y1", "pi_y2", "pi_y3"]], expected, rtol=1e-10, atol=1e-15)
    # Rewind-and-repeat past the last boundary is the best outcome alone: KL log(1/p3), win 1 - p3/2 (Lemma 6.2).
    rr = tradeoff[(tradeoff["family"] == "rewind_repeat") & (tradeoff["parameter"] >= F[1])]
    np.testing.assert_allclose(rr["kl"], -np.log(p[2]), rtol=1e-12)
    np.testing.assert_allclose(rr["win_rate"], 1 - p[2] / 2, rtol=1e-12)


def test_claims_table_has_no_violation(built):
    claims = pd.read_csv(built.path("results/tables/claims.csv"))
    assert {"claim", "cases", "violations", "largest_slack"} <= set(claims.columns)
    assert len(claims) >= 10 and claims["violations"].sum() == 0
    assert (claims["cases"] > 0).all()
    markdown = built.path("results/tables/claims.md").read_text()
    assert markdown.startswith("| claim |") and "Theorem 3.1" in markdown


# ------------------------------------------------------------------------------------ caching


def test_second_run_has_nothing_to_do(built):
    result = built.run("-n", "all", "--configfile", *built.configfiles)
    assert "Nothing to be done" in result.stdout, result.stdout[-3000:]
    assert job_counts(result.stdout) == {}


def _dry_run_with(built, change: dict) -> tuple[dict, str]:
    write_config(built.path("change.yaml"), change)
    result = built.run("-n", "all", "--configfile", *built.configfiles, "change.yaml")
    return job_counts(result.stdout), result.stdout


def test_one_figures_plot_option_redraws_that_figure_only(built):
    counts, out = _dry_run_with(built, {"plot": {"figures": {"fig03_top_outcomes_kl": {"width": 7.5}}}})
    assert counts == {"closed_form_plot": 1, "all": 1}, out[-3000:]
    assert "wildcards: figure=fig03_top_outcomes_kl" in out
    assert "Params have changed" in out


def test_shared_plot_option_redraws_every_figure_and_recomputes_nothing(built):
    counts, out = _dry_run_with(built, {"plot": {"colors": {"exact": "#333333"}}})
    assert counts == {"closed_form_plot": len(CLOSED_FORM_FIGURES), "all": 1}, out[-3000:]


def test_one_examples_settings_rerun_that_example_only(built):
    counts, out = _dry_run_with(built, {"example2": {"masses": [0.5, 0.3, 0.2]}})
    assert counts == {"example2_data": 1, "closed_form_plot": 2, "all": 1}, out[-3000:]
    assert {"figure=fig07_example2_simplex", "figure=fig08_example2_tradeoff"} <= _figures(out)
    counts, out = _dry_run_with(built, {"example1_kl": {"n_max": 512}})
    assert counts == {"closed_form_data": 1, "closed_form_plot": 1, "all": 1}, out[-3000:]
    assert _figures(out) == {"figure=fig01_example1_kl"}


def _figures(out: str) -> set[str]:
    """The ``figure`` wildcards of the jobs of a dry run."""
    return {line.split("wildcards: ", 1)[1].strip() for line in out.splitlines() if "wildcards: figure=" in line}


def test_compute_rules_depend_on_the_bonkl_modules_they_use(built):
    """Snakemake does not track imported modules: the rules list them as inputs (code_deps)."""
    fig01_data, fig03_plot = "results/figures/fig01_example1_kl.csv", "results/figures/fig03_top_outcomes_kl.png"
    result = built.run("-n", "all", "--configfile", *built.configfiles, "--forcerun", fig01_data, fig03_plot)
    blocks = result.stdout.split("rule ")[1:]

    def inputs(output):
        block = next(
            b for b in blocks if any(line.strip().startswith("output:") and output in line for line in b.splitlines())
        )
        line = next(line for line in block.splitlines() if line.strip().startswith("input:"))
        return {path.strip().split("src/bonkl/")[-1] for path in line.split(":", 1)[1].split(",")}

    assert {"examples.py", "kl.py", "estimators.py", "bon.py", "_logspace.py", "_validate.py"} <= inputs(fig01_data)
    assert "__init__.py" not in inputs(fig01_data)  # re-exports only: a new export must not rerun everything
    assert {"plotting/closed_form.py", "plotting/__init__.py", "plotting/bonkl.mplstyle"} <= inputs(fig03_plot)
    assert not any(name in inputs(fig03_plot) for name in ("kl.py", "estimators.py"))  # plots compute nothing


# ------------------------------------------------------------------------------ config checks


@pytest.mark.parametrize(
    "bad, named",
    [
        ({"exampel1_kl": {"n_max": 10}}, "exampel1_kl"),  # misspelt section
        ({"example2": {"mases": [0.5, 0.3, 0.2]}}, "mases"),  # misspelt key
        ({"uniform": {"n_max": 0.5}}, "n_max"),  # out of range (n_max >= 2)
        ({"plot": {"figures": {"fig01_example1_kl": {"legend_loc": "somewhere"}}}}, "legend_loc"),
        ({"example2": {"masses": [0.5, 0.3, 0.3]}}, "example2.masses"),  # must sum to 1 (check_closed_form_config)
        ({"top_outcomes": {"panels": {"a": {"alphabet_size": 1, "top_masses": [0.1]}}}}, "alphabet_size"),
    ],
)
def test_bad_config_stops_before_any_job_with_a_message_naming_the_key(tmp_path, bad, named):
    workdir = copy_workflow(tmp_path / "copy")
    write_config(workdir / "bad.yaml", bad)
    result = snakemake(workdir, "--cores", "1", "all", "--configfile", "bad.yaml", check=False)
    assert result.returncode != 0
    assert named in result.stdout, result.stdout[-3000:]
    assert not (workdir / "results").exists() and not (workdir / "logs").exists()


def test_shipped_config_is_valid_and_schema_documents_every_key():
    import yaml
    from jsonschema import Draft202012Validator
    from workflow_helpers import REPO

    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(yaml.safe_load((REPO / "config/config.yaml").read_text()))

    def walk(node, path):
        for key, sub in node.get("properties", {}).items():
            assert "description" in sub or "$ref" in sub, f"{path}.{key} has no description"
            assert "default" in sub, f"{path}.{key} has no default"
            walk(sub, f"{path}.{key}")

    walk(schema, "config")
    for name, sub in schema["$defs"].items():
        walk(sub, f"$defs.{name}")


def test_schema_defaults_are_the_shipped_config():
    """An empty config filled with the schema's defaults is config/config.yaml: the two never drift apart."""
    import yaml
    from snakemake.utils import validate
    from workflow_helpers import REPO

    filled = {}
    validate(filled, str(REPO / "workflow/schemas/config.schema.yaml"), set_default=True)
    assert filled == yaml.safe_load((REPO / "config/config.yaml").read_text())


# ------------------------------------------------------------------------------- report, lint


def test_report_builds_with_a_caption_naming_each_paper_figure(built):
    built.run("all", "--configfile", *built.configfiles, "--report", "report.html")
    html = built.path("report.html").read_text(errors="replace")
    for figure in FIGURES.values():
        assert figure.caption.split(":")[0] in html  # "Reproduces Fig. N of Beirami et al. (2025)"


def test_lint_finds_nothing_but_missing_conda_environments(built):
    # (--lint json prints text in Snakemake 9.27, so the text is parsed.)
    result = built.run("--lint", "--configfile", *built.configfiles, check=False)
    titles = {line.strip()[2:] for line in result.stdout.splitlines() if line.startswith("    * ")}
    assert titles <= {"Specify a conda environment or container for each rule.:"}, titles
