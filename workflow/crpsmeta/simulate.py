"""Data simulated from the models with known parameters (for recovery tests and validation)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import expit

from .vocabulary import TIMEPOINTS

__all__ = ["simulate_pooled_rate", "simulate_placebo_adjusted"]


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


def simulate_placebo_adjusted(truth: dict, rng: np.random.Generator, *, n_rct: int, n_single: int,
                              n_contrast: int = 0, n_pain: int = 0, missing: float = 0.2, n_low: int = 20,
                              n_high: int = 80, contrast_se: float = 0.45, pain_se: float = 0.4,
                              rct_n: int | None = None, missing_rct: float | None = None,
                              single_definitions: Sequence[str] | None = None,
                              reference_definition: str = "ge30pct") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mixed designs from the placebo-adjusted model with known parameters.

    ``truth`` holds ``placebo_mu`` (two logits: immediate, follow-up),
    ``effect_mu``, ``persistence``, ``tau``, ``tau_placebo``, ``rho`` and
    ``design_bias``. RCTs report responder counts in both arms; single-arm
    series report the ketamine arm only (plus the design bias); the first
    ``n_contrast`` RCTs report a continuous contrast (a log OR with standard
    error ``contrast_se``) instead of counts; the last ``n_pain`` single-arm
    series report a standardised pain improvement ``d`` (with ``truth
    ["pain_threshold"]``, standard error ``pain_se``) instead of counts. Each
    study x timepoint is missing with probability ``missing`` (at least one
    timepoint is kept). All studies use the reference responder definition.
    Returns (arms, other): ``other`` holds contrasts (``kind`` = contrast)
    and pain rows (``kind`` = pain).

    Optional (the defaults reproduce the above, draw for draw):
    ``rct_n`` fixes the size of every RCT arm (else drawn like the others);
    ``missing_rct`` is the probability that an RCT misses a timepoint (else
    ``missing``); ``single_definitions`` gives the responder-definition class
    of each single-arm series in turn (cycled), each shifting that series'
    responder logit by ``truth["definition_offset"][class]`` (0 when absent,
    as for the reference class); pain rows are at the reference definition,
    and RCT arms at ``reference_definition``.
    """
    alpha = np.asarray(truth["placebo_mu"], dtype=float)
    d = np.array([truth["effect_mu"], truth["persistence"] * truth["effect_mu"]])
    rho = truth["rho"]
    cov = np.array([[1.0, rho], [rho, 1.0]])
    arms, contrasts = [], []
    timepoints = TIMEPOINTS
    for i in range(n_rct + n_single):
        sid = f"Sim{i + 1:04d}"
        rct = i < n_rct
        u = rng.multivariate_normal(np.zeros(2), cov)
        v = rng.multivariate_normal(np.zeros(2), cov)
        keep = rng.random(2) >= (missing if not rct or missing_rct is None else missing_rct)
        if not keep.any():
            keep[rng.integers(2)] = True
        for t, tp in enumerate(timepoints):
            if not keep[t]:
                continue
            a = alpha[t] + truth["tau_placebo"] * v[t]
            delta = d[t] + truth["tau"] * u[t]
            if rct and i < n_contrast:
                contrasts.append({"study_id": sid, "arm": "ketamine_vs_placebo", "timepoint": tp, "kind": "contrast",
                                  "log_or": delta + contrast_se * rng.standard_normal(), "se": contrast_se,
                                  "nonrandomised": 0})
                continue
            bias = 0.0 if rct else truth["design_bias"]
            if not rct and i >= n_rct + n_single - n_pain:
                mean_d = np.sqrt(3.0) / np.pi * (a + delta + bias + truth["pain_threshold"])
                contrasts.append({"study_id": sid, "arm": "ketamine", "timepoint": tp, "kind": "pain",
                                  "d": mean_d + pain_se * rng.standard_normal(), "se": pain_se, "nonrandomised": 1})
                continue
            definition, offset = reference_definition, 0.0
            if single_definitions and not rct:
                definition = single_definitions[(i - n_rct) % len(single_definitions)]
                offset = float(truth.get("definition_offset", {}).get(definition, 0.0))
            for arm, eta in (("ketamine", a + delta + bias + offset), ("placebo", a + bias + offset)):
                if arm == "placebo" and not rct:
                    continue
                n = int(rct_n) if rct and rct_n is not None else int(rng.integers(n_low, n_high + 1))
                arms.append({"study_id": sid, "arm": arm, "timepoint": tp, "n": n,
                             "responders": int(rng.binomial(n, expit(eta))), "definition_class": definition,
                             "nonrandomised": int(not rct)})
    arm_cols = ["study_id", "arm", "timepoint", "n", "responders", "definition_class", "nonrandomised"]
    return (pd.DataFrame(arms, columns=arm_cols),
            pd.DataFrame(contrasts, columns=["study_id", "arm", "timepoint", "kind", "log_or", "d", "se",
                                             "nonrandomised"]))
