"""Data simulated from the models with known parameters (for recovery tests and validation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

__all__ = ["simulate_pooled_rate"]


def simulate_pooled_rate(k: int, mu: float, tau: float, rng: np.random.Generator,
                         n_low: int = 5, n_high: int = 70) -> pd.DataFrame:
    """Responder counts of ``k`` single-arm studies from the pooled_rate model.

    Study sizes are uniform on [n_low, n_high] (the shipped evidence spans 4-71).
    """
    n = rng.integers(n_low, n_high + 1, size=k)
    theta = mu + tau * rng.standard_normal(k)
    y = rng.binomial(n, expit(theta))
    return pd.DataFrame({"study_id": [f"Sim{i + 1:04d}" for i in range(k)], "n": n, "responders": y,
                         "theta": theta})
