"""The plot rules of the closed-form figures: draw one figure from its CSV table (no computing).

The figure is chosen by the output's name (a key of bonkl.plotting.closed_form.FIGURES); the
options (size, dpi, colours, axes) come from the rule's params, so changing them redraws only.
"""

import sys

sys.stderr = open(snakemake.log[0], "w")

from pathlib import Path

import pandas as pd

from bonkl.plotting.closed_form import render

name = Path(snakemake.output.png).stem
table = pd.read_csv(snakemake.input.table)
render(name, table, dict(snakemake.params.options), snakemake.output.pdf, snakemake.output.png)
print(f"{name}: drew {len(table)} points", file=sys.stderr)
