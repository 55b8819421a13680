"""``bonkl.claims``: the paper's claims hold on random models, and the checker can fail."""

import numpy as np
import pandas as pd
import pytest

import bonkl
from bonkl import claims, random_models
from bonkl.cli import main

MODELS = 200
MC_DRAWS = 20_000


@pytest.fixture(scope="module")
def table():
    return claims.run_claims(MODELS, seed=0, mc_draws=MC_DRAWS, workers=1)


def test_no_violations(table):
    assert table["violations"].sum() == 0, table.to_string()
    assert (table["largest_slack"] >= -table["tolerance"]).all()


def test_one_row_per_claim_with_the_columns(table):
    assert list(table.columns) == claims.COLUMNS
    assert list(table["claim"]) == [claim.label for claim in claims.CLAIMS]
    assert table["claim"].is_unique
    # every per-model claim saw one case per model and grid point (Lemma 4.5 and 6.2 see more)
    per_n = table[table["claim"].str.match(r"(Theorem 3\.[16]|Corollary|Conjecture|Theorem 5\.[36]|Lemma 2\.3)")]
    assert len(per_n) == 8
    assert (per_n["cases"] == MODELS * claims.N_GRID.size).all()
    assert (table["cases"] > 0).all()
    assert table["closest_case"].str.len().gt(0).all()


def test_deterministic_for_a_seed_and_independent_of_workers(table):
    again = claims.run_claims(MODELS, seed=0, mc_draws=MC_DRAWS, workers=2)
    pd.testing.assert_frame_equal(table, again)
    other = claims.run_claims(20, seed=1, mc_draws=MC_DRAWS, workers=1)["largest_slack"]
    assert not other.equals(claims.run_claims(20, seed=2, mc_draws=MC_DRAWS, workers=1)["largest_slack"])


def test_random_models_are_valid_and_varied():
    families, sizes, tops = set(), [], []
    for i in range(300):
        family, p = random_models.random_model(np.random.default_rng([0, i]))
        assert p.ndim == 1 and p.size >= 2 and np.all(p > 0) and abs(p.sum() - 1) < 1e-12
        families.add(family)
        sizes.append(p.size)
        tops.append(p[-1])
    assert families == set(random_models.FAMILIES)
    assert min(sizes) <= 3 and max(sizes) >= 500
    assert min(tops) <= 1e-299 and max(tops) > 0.9


def test_broken_kl_exact_is_caught(monkeypatch):
    honest = bonkl.kl_exact
    monkeypatch.setattr(bonkl, "kl_exact", lambda p, n: bonkl.kl_bon(n) + 1e-3 + 0 * honest(p, n))
    broken = claims.run_claims(20, seed=0, mc_draws=1000, workers=1).set_index("claim")
    row = broken.loc[claims.CLAIMS[1].label]  # Theorem 3.1
    assert row["violations"] == row["cases"] == 20 * claims.N_GRID.size
    assert row["largest_slack"] == pytest.approx(-1e-3, rel=1e-6)


def test_broken_win_rate_and_estimator_are_caught(monkeypatch):
    monkeypatch.setattr(bonkl, "win_rate_gap", lambda p, n: bonkl.win_rate_continuous(n) - 1.0)
    monkeypatch.setattr(bonkl, "kl_estimator", lambda eps, n: 1.01 * bonkl.kl_bon(n) + 0 * eps)
    broken = claims.run_claims(10, seed=0, mc_draws=1000, workers=1).set_index("claim")
    assert broken.loc[claims.CLAIMS[6].label, "violations"] > 0  # Theorem 5.3
    assert broken.loc[claims.CLAIMS[5].label, "violations"] > 0  # Lemma 4.5


def test_biased_rr_estimator_is_caught(monkeypatch):
    honest = bonkl.rr_kl_estimator
    monkeypatch.setattr(bonkl, "rr_kl_estimator", lambda k: honest(k) + 0.01)
    broken = claims.run_claims(2, seed=0, mc_draws=200_000, workers=1).set_index("claim")
    assert broken.loc[claims.CLAIMS[-2].label, "violations"] == claims.P_TAUS.size  # exact series
    assert broken.loc[claims.CLAIMS[-1].label, "violations"] > 0  # simulation


def test_cli_writes_csv_and_markdown(tmp_path):
    out, md = tmp_path / "tables" / "claims.csv", tmp_path / "claims.md"
    assert (
        main(
            [
                "claims",
                "--models",
                "30",
                "--seed",
                "3",
                "--mc-draws",
                "5000",
                "--workers",
                "1",
                "--out",
                str(out),
                "--markdown",
                str(md),
                "--quiet",
            ]
        )
        == 0
    )
    written = pd.read_csv(out)
    assert list(written.columns) == claims.COLUMNS
    assert len(written) == len(claims.CLAIMS) and written["violations"].sum() == 0
    text = md.read_text()
    assert text.startswith("| claim | cases | violations |")
    assert text.count("\n") == len(claims.CLAIMS) + 2
    assert "Theorem 3.1: KL(pi_n\\|\\|pi)" in text


def test_each_claim_carries_its_place_in_the_paper_statement_and_check():
    assert len({claim.label for claim in claims.CLAIMS}) == len(claims.CLAIMS)
    for claim in claims.CLAIMS:
        assert claim.name and claim.statement and callable(claim.check)
        assert claim.label == f"{claim.name}: {claim.statement}"
    assert [claim.name for claim in claims.CLAIMS if not claim.per_model] == [
        "Theorem 6.3 (exact series)",
        "Theorem 6.3 (simulation)",
    ]
