"""Rule claims_table: numerical checks of the paper's claims on random models (bonkl.claims).

Writes the table as CSV and Markdown (atomically) and prints it to the log; fails afterwards if a
claim is violated and ``fail_on_violation`` is set.
"""

import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

from bonkl.claims import claims_report, shown

settings = snakemake.params.settings
table, summary = claims_report(
    settings["num_models"],
    settings["seed"],
    settings["mc_draws"],
    workers=snakemake.threads,
    out=snakemake.output.csv,
    markdown=snakemake.output.markdown,
)
print(shown(table))
print(summary)
violations = int(table["violations"].sum())
if violations and settings["fail_on_violation"]:
    raise SystemExit(
        f"{violations} violated claims (see the table above); set claims.fail_on_violation: "
        "false to keep the table anyway"
    )
