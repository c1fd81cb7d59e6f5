"""The ECDF-difference panel shared by the LOO-PIT and the simulation-based calibration figures."""

from __future__ import annotations

import numpy as np


def draw_ecdf_difference(ax, grid, ecdf, lower, upper, *, color: str = "black") -> None:
    """Draw ECDF minus the uniform CDF at ``grid`` with its simultaneous band (``lower``/``upper`` on the
    ECDF scale, from :func:`crpsmeta.criticism.ecdf.simultaneous_band`)."""
    grid = np.asarray(grid, dtype=float)
    ax.fill_between(
        grid, np.asarray(lower) - grid, np.asarray(upper) - grid, color="tab:blue", alpha=0.2, lw=0, step="post"
    )
    ax.step(grid, np.asarray(ecdf) - grid, where="post", color=color, lw=1.2)
    ax.axhline(0, color="0.4", lw=0.6)
