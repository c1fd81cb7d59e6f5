"""Model comparison by PSIS-LOO (Vehtari, Gelman, Gabry 2017; Pareto-k: Vehtari et al. 2024).

pooled_rate and placebo_adjusted are compared on the observations both model:
the ketamine arms' responder counts at one timepoint. placebo_adjusted's
pointwise log-likelihood is cut to those observations and relabelled by study.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from crpsmeta.vocabulary import KETAMINE


def pareto_k_threshold(n_draws: int) -> float:
    """Good-k bound min(1 - 1/log10(S), 0.7) (Vehtari et al. 2024)."""
    return float(min(1.0 - 1.0 / np.log10(n_draws), 0.7))


def _with_loglik(idata, loglik: xr.DataArray) -> az.InferenceData:
    return az.InferenceData(posterior=idata.posterior, log_likelihood=xr.Dataset({"y": loglik}))


def ketamine_loglik(idata, timepoint: str) -> xr.DataArray:
    """Pointwise log-likelihood of ketamine responder counts at ``timepoint``, dimension ``study``."""
    ll = idata.log_likelihood["y"]
    if "arm_obs" not in ll.dims:  # pooled_rate: already per study
        return ll
    labels = [str(x) for x in ll["arm_obs"].values]
    keep = [i for i, lab in enumerate(labels) if lab.split("/")[1:] == [KETAMINE, timepoint]]
    sub = ll.isel(arm_obs=keep)
    studies = [labels[i].split("/")[0] for i in keep]
    return sub.rename({"arm_obs": "study"}).assign_coords(study=studies)


def compare_loo(pooled: dict[str, az.InferenceData], adjusted: az.InferenceData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """PSIS-LOO of both models per timepoint on their common observations.

    Returns (comparison table, pointwise Pareto-k table).
    """
    rows, ks = [], []
    for timepoint, pooled_idata in pooled.items():
        ll_p = ketamine_loglik(pooled_idata, timepoint)
        ll_a = ketamine_loglik(adjusted, timepoint)
        common = [s for s in ll_p["study"].values if s in set(ll_a["study"].values)]
        if not common:
            continue
        fits = {
            "pooled_rate": _with_loglik(pooled_idata, ll_p.sel(study=common)),
            "placebo_adjusted": _with_loglik(adjusted, ll_a.sel(study=common)),
        }
        loos = {}
        for name, idata in fits.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # high Pareto k is reported in the table instead
                loos[name] = az.loo(idata, pointwise=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = az.compare(loos, ic="loo")
        for name, loo in loos.items():
            k = np.asarray(loo.pareto_k)
            threshold = pareto_k_threshold(loo.n_samples)
            rows.append(
                {
                    "timepoint": timepoint,
                    "model": name,
                    "n_obs": len(common),
                    "elpd_loo": float(loo.elpd_loo),
                    "se": float(loo.se),
                    "p_loo": float(loo.p_loo),
                    "elpd_diff": float(table.loc[name, "elpd_diff"]),
                    "dse": float(table.loc[name, "dse"]),
                    "rank": int(table.loc[name, "rank"]),
                    "pareto_k_max": float(k.max()),
                    "pareto_k_threshold": threshold,
                    "n_k_above_threshold": int((k > threshold).sum()),
                    "n_k_above_1": int((k > 1).sum()),
                    "reliable": bool((k <= threshold).all()),
                }
            )
            for study, kv in zip(common, k):
                ks.append(
                    {
                        "timepoint": timepoint,
                        "model": name,
                        "study_id": str(study),
                        "pareto_k": float(kv),
                        "good": bool(kv <= threshold),
                    }
                )
    return pd.DataFrame(rows), pd.DataFrame(ks)
