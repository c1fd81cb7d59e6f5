"""The one simultaneous ECDF band, used by the LOO-PIT check and the simulation-based calibration figure.

The ``prob``-level simultaneous band of Säilynoja, Bürkner and Vehtari (2022)
for the ECDF of ``n`` Uniform(0, 1) values, evaluated on a grid: ArviZ's
``ecdf_confidence_band``, method ``optimized`` (the band ``az.plot_ecdf``
draws). A sample whose ECDF leaves the band anywhere is flagged as not uniform
at level ``1 - prob`` for the whole curve, not point by point.
"""

from __future__ import annotations

import contextlib

import numpy as np


@contextlib.contextmanager
def without_numba():
    """ArviZ's band optimiser without numba: for tens of values the plain-NumPy path takes milliseconds,
    while numba's just-in-time compile costs seconds in every fresh process."""
    from arviz.utils import Numba

    was = Numba.numba_flag
    Numba.disable_numba()
    try:
        yield
    finally:
        Numba.numba_flag = was


def ecdf_counts(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """ECDF counts of each row of ``values`` (..., N) at ``grid`` (K,): (..., K)."""
    return (values[..., :, None] <= grid).sum(axis=-2)


def simultaneous_band(n: int, grid: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper limits, on the ECDF scale, of the band for ``n`` uniform values at ``grid``."""
    from arviz.stats.ecdf_utils import ecdf_confidence_band

    grid = np.asarray(grid, dtype=float)
    with without_numba():
        lower, upper = ecdf_confidence_band(n, grid, grid, prob=prob, method="optimized")
    return np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
