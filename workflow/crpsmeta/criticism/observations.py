"""The observations of a fit, as its record stores them, and their predictive tail probabilities.

Every check of :mod:`crpsmeta.criticism.predictive` and :mod:`crpsmeta.criticism.loo_pit` looks at one row per
observation: a study's arm x timepoint responder count, and for ``placebo_adjusted`` also the ``contrast``
and ``pain`` observations on their own scales (:data:`SCALES`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crpsmeta.fitting.record import constant_data
from crpsmeta.registry import pooled_arm
from crpsmeta.vocabulary import CONTRAST_ARM, KETAMINE

# observed variable -> kind of observation (as in used.csv's ``kind`` column)
KINDS = {"y": "responders", "contrast": "contrast", "pain": "pain"}


# how each kind is shown
SCALES = {
    "responders": "responder rate (responders / n)",
    "contrast": "log odds ratio, ketamine vs placebo",
    "pain": "standardised pain improvement d",
}


# ---- observations --------------------------------------------------------------------------------------------
def observations(idata, *, model: str, unit: str) -> pd.DataFrame:
    """One row per observation in the record's ``observed_data``.

    Columns: ``observation`` (label ``study/arm/timepoint``), ``variable``
    (observed variable), ``position`` (index along its dimension),
    ``study_id, arm, timepoint, kind`` (as in the fit's ``used.csv``),
    ``n`` (denominator of a responder count, else NaN), ``observed_native``
    (count or value as modelled) and ``observed`` (on the display scale:
    responders / n for counts).
    """
    rows = []
    for var, kind in KINDS.items():
        if var not in idata.observed_data:
            continue
        obs = idata.observed_data[var]
        (dim,) = obs.dims
        labels = [str(x) for x in obs[dim].values]
        n = np.asarray(constant_data(idata, "n"), dtype=float) if var == "y" else np.full(len(labels), np.nan)
        for pos, (label, value) in enumerate(zip(labels, np.asarray(obs.values, dtype=float))):
            parts = label.split("/")
            if dim == "study":  # pooled_rate / placebo_map: one count per study at one timepoint
                study, arm, timepoint = label, pooled_arm(model) or KETAMINE, unit
            elif var == "contrast":
                study, arm, timepoint = parts[0], CONTRAST_ARM, parts[-1]
            else:
                study, arm, timepoint = parts
            rows.append(
                {
                    "observation": f"{study}/{arm}/{timepoint}",
                    "variable": var,
                    "position": pos,
                    "study_id": study,
                    "arm": arm,
                    "timepoint": timepoint,
                    "kind": kind,
                    "n": n[pos],
                    "observed_native": value,
                    "observed": value / n[pos] if var == "y" else value,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "observation",
            "variable",
            "position",
            "study_id",
            "arm",
            "timepoint",
            "kind",
            "n",
            "observed_native",
            "observed",
        ],
    )


def _draws(idata, group: str, var: str) -> np.ndarray:
    """Draws of an observed variable as (observation, sample), samples in (chain, draw) order."""
    da = idata[group][var]
    (dim,) = [d for d in da.dims if d not in ("chain", "draw")]
    return np.asarray(da.stack(__sample__=("chain", "draw")).transpose(dim, "__sample__").values, dtype=float)


# ---- tail probabilities and flags ----------------------------------------------------------------------------
def tail_probability(draws: np.ndarray, observed: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Upper-tail mid-p value ``P(rep > obs) + P(rep = obs) / 2`` per row.

    ``draws`` is (observation, sample), ``observed`` (observation,);
    ``weights`` (same shape as ``draws``, rows summing to 1) default to equal.
    Ties have probability 0 for continuous draws, so the same formula gives
    the ordinary tail probability there.
    """
    draws = np.atleast_2d(draws)
    observed = np.asarray(observed, dtype=float)[:, None]
    if weights is None:
        weights = np.full(draws.shape, 1.0 / draws.shape[1])
    above = (weights * (draws > observed)).sum(axis=1)
    tie = (weights * (draws == observed)).sum(axis=1)
    return np.clip(above + 0.5 * tie, 0.0, 1.0)


def flag(p: np.ndarray, prob: float) -> np.ndarray:
    """True where a tail probability is outside the central ``prob`` region."""
    p = np.asarray(p, dtype=float)
    alpha = (1.0 - prob) / 2.0
    return (p < alpha) | (p > 1.0 - alpha)


def _direction(p: float, flagged: bool) -> str:
    if not flagged:
        return ""
    return "observed higher than predicted" if p < 0.5 else "observed lower than predicted"
