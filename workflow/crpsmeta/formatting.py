"""How the report and the figures write numbers: percentages and table cells ('-' when missing)."""

from __future__ import annotations

import math

import numpy as np


def pct(x: float, digits: int = 0) -> str:
    """A proportion as a percentage string ('69 %'); '-' when missing."""
    return "-" if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f} %"


def fmt(x, digits: int = 2) -> str:
    """A number for a table: fixed digits, '-' when missing, 'inf' kept."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return "inf" if math.isinf(x) else f"{x:.{digits}f}"
    return str(x)
