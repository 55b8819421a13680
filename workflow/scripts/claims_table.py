"""Rule claims_table: numerical checks of the paper's claims on random models (bonkl.claims).

Writes the table as CSV and Markdown (atomically) and prints it to the log; fails afterwards if a
claim is violated and ``fail_on_violation`` is set.
"""

import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import time

import pandas as pd

from bonkl.claims import run_claims, to_markdown
from bonkl.pipeline.atomic import write_table, write_text

settings = snakemake.params.settings
started = time.perf_counter()
table = run_claims(settings["num_models"], settings["seed"], settings["mc_draws"], workers=snakemake.threads)
elapsed = time.perf_counter() - started

write_table(table, snakemake.output.csv)
write_text(to_markdown(table), snakemake.output.markdown)

violations = int(table["violations"].sum())
with pd.option_context("display.max_colwidth", 200, "display.width", 250):
    print(table.to_string(index=False))
print(f"{settings['num_models']} models, seed {settings['seed']}: {violations} violations in {elapsed:.1f} s")
if violations and settings["fail_on_violation"]:
    raise SystemExit(
        f"{violations} violated claims (see the table above); set claims.fail_on_violation: "
        "false to keep the table anyway"
    )
