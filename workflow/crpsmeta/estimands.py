"""Posterior summaries with the field's names, derived from the InferenceData record."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["ESTIMAND_COLUMNS", "ESTIMANDS", "summarize_draws", "estimands_table", "study_table",
           "clopper_pearson"]

# The public column order of results/summaries/estimands.csv.
ESTIMAND_COLUMNS = ["model", "prior_set", "timepoint", "estimand", "mean", "sd", "median", "lower", "upper",
                    "interval_prob", "interval_type", "r_hat", "ess_bulk", "ess_tail"]

# Estimand name (public interface) -> posterior variable, per model.
ESTIMANDS = {
    "pooled_rate": {
        "pooled_rate": "pooled_rate",  # inverse-logit of mu: the rate in an average study
        "predicted_rate": "predicted_rate",  # the rate in a new study (prediction interval)
        "mu": "mu",  # logit of the pooled rate
        "tau": "tau",  # between-study SD on the logit scale
        "i2": "i2",  # share of variation between studies (descriptive)
    },
}


def _interval(x: np.ndarray, prob: float, interval_type: str) -> tuple[float, float]:
    if interval_type == "equal_tailed":
        lo, hi = np.quantile(x, [(1 - prob) / 2, 1 - (1 - prob) / 2])
        return float(lo), float(hi)
    if interval_type == "hdi":
        lo, hi = az.hdi(np.asarray(x), hdi_prob=prob)
        return float(lo), float(hi)
    raise ValueError(f"unknown interval type {interval_type!r}")


def summarize_draws(da, prob: float = 0.95, interval_type: str = "equal_tailed") -> dict:
    """Mean, SD, median, interval and convergence of one scalar posterior quantity (chain, draw)."""
    x = np.asarray(da.values, dtype=float)
    flat = x.reshape(-1)
    lower, upper = _interval(flat, prob, interval_type)
    varies = np.ptp(flat) > 0
    return {
        "mean": float(flat.mean()), "sd": float(flat.std(ddof=1)), "median": float(np.median(flat)),
        "lower": lower, "upper": upper, "interval_prob": prob, "interval_type": interval_type,
        "r_hat": float(az.rhat(x)) if varies else float("nan"),
        "ess_bulk": float(az.ess(x, method="bulk")) if varies else float("nan"),
        "ess_tail": float(az.ess(x, method="tail")) if varies else float("nan"),
    }


def estimands_table(idata, *, model: str, prior_set: str, timepoint: str, prob: float = 0.95,
                    interval_type: str = "equal_tailed") -> pd.DataFrame:
    """One row per estimand of ``model`` (see :data:`ESTIMANDS`)."""
    rows = []
    for estimand, var in ESTIMANDS[model].items():
        da = idata.posterior[var]
        if not np.isfinite(da.values).all():
            continue  # e.g. I-squared is undefined with a single study
        rows.append({"model": model, "prior_set": prior_set, "timepoint": timepoint, "estimand": estimand,
                     **summarize_draws(da, prob, interval_type)})
    return pd.DataFrame(rows, columns=ESTIMAND_COLUMNS)


def clopper_pearson(x, n, prob: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) binomial interval for x successes out of n."""
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    a = (1 - prob) / 2
    lower = np.where(x > 0, stats.beta.ppf(a, np.maximum(x, 1e-12), n - x + 1), 0.0)
    upper = np.where(x < n, stats.beta.ppf(1 - a, x + 1, np.maximum(n - x, 1e-12)), 1.0)
    return lower, upper


def study_table(idata, *, model: str, prior_set: str, timepoint: str, prob: float = 0.95,
                interval_type: str = "equal_tailed", labels: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per study: observed rate with its exact interval and the shrunken estimate.

    ``labels`` (optional) adds columns by ``study_id`` (e.g. the responder definition).
    """
    y = idata.constant_data["responders"].values
    n = idata.constant_data["n"].values
    studies = [str(s) for s in idata.posterior["study"].values]
    lo, hi = clopper_pearson(y, n, prob)
    rows = []
    for i, sid in enumerate(studies):
        s = summarize_draws(idata.posterior["study_rate"].sel(study=sid), prob, interval_type)
        rows.append({"model": model, "prior_set": prior_set, "timepoint": timepoint, "study_id": sid,
                     "responders": int(y[i]), "n": int(n[i]), "observed_rate": y[i] / n[i],
                     "observed_lower": float(lo[i]), "observed_upper": float(hi[i]),
                     "shrunken_mean": s["mean"], "shrunken_median": s["median"],
                     "shrunken_lower": s["lower"], "shrunken_upper": s["upper"],
                     "interval_prob": prob, "interval_type": interval_type})
    table = pd.DataFrame(rows)
    if labels is not None:
        table = table.merge(labels, on="study_id", how="left")
    return table
