"""Prior sensitivity by power-scaling (the estimands across prior sets are drawn by figures/sensitivity.py).

Power-scaling (Kallioinen, Paananen, Buerkner, Vehtari 2023, Stat Comput
34:57; R package priorsense; ArviZ's ``psens``) raises the prior, or the
likelihood, to a power alpha near 1 and measures how far the posterior moves
(the derivative of the cumulative Jensen-Shannon distance with respect to
log2 alpha), by Pareto-smoothed importance reweighting of the existing draws:
no refit. Each quantity gets a prior and a likelihood sensitivity, and
priorsense's diagnosis at its default threshold of 0.05:

================  ==================  ===========================================
prior             likelihood          diagnosis
================  ==================  ===========================================
>= threshold      >= threshold        ``prior-data conflict``: prior and data
                                      pull the posterior different ways
>= threshold      < threshold         ``prior-dominated``: the prior does the work,
                                      the data barely inform the quantity
otherwise                             ``fine``
================  ==================  ===========================================

Only the top-level priors (the record's ``log_prior`` group) are scaled, as
priorsense does with brms's ``lprior``.
"""

from __future__ import annotations

import arviz as az
import pandas as pd

DIAGNOSES = ("prior-data conflict", "prior-dominated", "fine")


PSENS_COLUMNS = [
    "model",
    "prior_set",
    "timepoint",
    "variable",
    "element",
    "prior_sensitivity",
    "likelihood_sensitivity",
    "threshold",
    "diagnosis",
]


# Posterior quantities assessed besides the prior variables themselves, per model.
_DERIVED = {
    "pooled_rate": ["pooled_rate", "predicted_rate"],
    "placebo_map": ["pooled_rate", "predicted_rate"],
    "placebo_adjusted": ["placebo_response_rate", "ketamine_response_rate", "risk_difference", "odds_ratio"],
}


def diagnose(prior: float, likelihood: float, threshold: float = 0.05) -> str:
    """priorsense's diagnosis of one quantity from its two sensitivities."""
    if prior >= threshold and likelihood >= threshold:
        return "prior-data conflict"
    if prior >= threshold:
        return "prior-dominated"
    return "fine"


def key_variables(idata, model: str) -> list[str]:
    """The record's prior variables plus the model's headline derived quantities."""
    names = list(idata.log_prior.data_vars) + [v for v in _DERIVED.get(model, []) if v in idata.posterior]
    return list(dict.fromkeys(names))


def _non_empty(dataset):
    return dataset[[name for name, da in dataset.data_vars.items() if da.size > 0]]


def _elements(da) -> list[tuple[dict, str]]:
    dims = list(da.dims)
    if not dims:
        return [({}, "")]
    stacked = da.stack(_e=dims)
    out = []
    for idx in stacked["_e"].values:
        idx = idx if isinstance(idx, tuple) else (idx,)
        out.append((dict(zip(dims, idx)), ",".join(str(i) for i in idx)))
    return out


def power_scaling_table(
    idata,
    *,
    model: str,
    prior_set: str = "",
    timepoint: str = "",
    var_names: list[str] | None = None,
    threshold: float = 0.05,
    delta: float = 0.01,
) -> pd.DataFrame:
    """Prior and likelihood power-scaling sensitivity of each quantity, with its diagnosis.

    Parameters
    ----------
    idata : InferenceData
        A fit record with ``log_prior`` and ``log_likelihood`` groups.
    var_names : list of str, optional
        Posterior variables to assess (default :func:`key_variables`).
    threshold : float
        Sensitivity above which a component counts as influential (priorsense: 0.05).
    delta : float
        Finite-difference step of the power alpha (ArviZ/priorsense: 0.01).
    """
    if "log_prior" not in idata.groups():
        raise ValueError("the record has no log_prior group; refit with crpsmeta.fitting.sampling.fit")
    var_names = var_names or key_variables(idata, model)
    # psens stacks every component variable; an empty one (e.g. no pain observation) breaks the stacking
    work = az.InferenceData(
        posterior=idata.posterior,
        log_prior=_non_empty(idata.log_prior),
        log_likelihood=_non_empty(idata.log_likelihood),
    )
    prior = az.psens(work, component="prior", var_names=var_names, delta=delta)
    like = az.psens(work, component="likelihood", var_names=var_names, delta=delta)
    rows = []
    for var in var_names:
        template = idata.posterior[var].isel(chain=0, draw=0, drop=True)
        for sel, label in _elements(template):
            p = float(prior[var].sel(sel).values) if sel else float(prior[var].values)
            lk = float(like[var].sel(sel).values) if sel else float(like[var].values)
            rows.append(
                {
                    "model": model,
                    "prior_set": prior_set,
                    "timepoint": timepoint,
                    "variable": var,
                    "element": label,
                    "prior_sensitivity": p,
                    "likelihood_sensitivity": lk,
                    "threshold": threshold,
                    "diagnosis": diagnose(p, lk, threshold),
                }
            )
    return pd.DataFrame(rows, columns=PSENS_COLUMNS)
