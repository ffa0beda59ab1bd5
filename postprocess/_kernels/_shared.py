"""Row-distance helpers shared by the kernel modules (not part of the public kernel set)."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _sq(x: np.ndarray, i: int, c: np.ndarray, j: int) -> float:
    d0 = x[i, 0] - c[j, 0]
    d1 = x[i, 1] - c[j, 1]
    d2 = x[i, 2] - c[j, 2]
    return d0 * d0 + d1 * d1 + d2 * d2


@njit(cache=True, nogil=True)
def _soa(x: np.ndarray) -> np.ndarray:
    """``(N, 3)`` -> contiguous ``(3, N)``: the distance loops below run over samples innermost,
    where the compiler vectorises them."""
    return np.ascontiguousarray(x.T)
