"""Type aliases of the public API (numpy's ``ArrayLike`` in, a float or an array out)."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: A scalar input gives a Python-compatible float (a numpy scalar); an array input an array.
FloatOrArray: TypeAlias = "float | np.floating | NDArray[np.float64]"

__all__ = ["ArrayLike", "FloatOrArray", "NDArray"]
