"""One outcome, one key: the text that identifies a sampled token sequence across the package."""

from __future__ import annotations

import pandas as pd


def sequence_keys(samples: pd.DataFrame) -> pd.Series:
    """The key of each sample's ``token_ids``: identical token sequences are one outcome.

    >>> sequence_keys(pd.DataFrame({"token_ids": [[5, 2], [5, 2], [52]]})).tolist()
    ['5 2', '5 2', '52']
    """
    return samples["token_ids"].map(lambda ids: " ".join(map(str, ids)))
