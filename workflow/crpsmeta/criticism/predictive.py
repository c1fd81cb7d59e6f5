r"""Predictive checks of a fit, read from its InferenceData record.

Three checks, each giving one row per observation of the fit (a study's arm x
timepoint responder count, and for ``placebo_adjusted`` also the ``contrast``
and ``pain`` observations on their own scales):

**Prior predictive check** (Box 1980). What the priors alone say the data
should look like. The responder rates the priors imply (pooled and predicted
rate; placebo rate, ketamine rate and risk difference) are summarised on the
probability scale (:func:`prior_rates`), and each observation gets its prior
predictive tail probability (:func:`predictive_check` on the
``prior_predictive`` group). A tail probability in the outer
``1 - prob`` of the prior predictive distribution says that the prior and
the data conflict.

**Posterior predictive check** (Gelman, Meng, Stern 1996). Each observation
against its replicates from the posterior predictive distribution. Because the
observation also informed the posterior, these p-values are conservative
(pulled towards 0.5): a flag is a strong signal, no flag a weak one. LOO-PIT
removes that double use of the data.

**LOO-PIT** (Gelfand, Dey, Chang 1992; Vehtari, Gelman, Gabry 2017). The
probability integral transform of each observation under its leave-one-out
predictive distribution, estimated with Pareto-smoothed importance weights.
For a calibrated model the LOO-PITs are (nearly independent) Uniform(0, 1); their
ECDF is tested against the uniform with the simultaneous band of Säilynoja,
Bürkner and Vehtari (2022).

The tail probability used throughout is the upper-tail mid-p value

.. math::

    p = \Pr(y^{rep} > y) + \tfrac12 \Pr(y^{rep} = y),

(for continuous observations the second term is 0): near 0 the observation is
higher than predicted, near 1 lower. Under a correct predictive distribution
the mid-p of a discrete count is much closer to uniform than either one-sided
p-value (Lancaster 1961). An observation is flagged when ``p`` lies outside
the central ``prob`` region, i.e. ``p < (1 - prob) / 2`` or
``p > 1 - (1 - prob) / 2``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crpsmeta.criticism.observations import _direction, _draws, flag, observations, tail_probability

# prior quantities on the probability scale, by model
IMPLIED_RATES = ("pooled_rate", "predicted_rate", "placebo_response_rate", "ketamine_response_rate", "risk_difference")


SUMMARY_COLUMNS = [
    "model",
    "unit",
    "prior_set",
    "check",
    "observation",
    "study_id",
    "arm",
    "timepoint",
    "kind",
    "observed",
    "statistic",
    "p_value",
    "flagged",
    "flag_rule",
    "pareto_k",
]


# ---- prior and posterior predictive checks -------------------------------------------------------------------
def predictive_check(idata, group: str, *, model: str, unit: str, prob: float) -> pd.DataFrame:
    """Each observation against its replicates from ``group``.

    Parameters
    ----------
    idata : InferenceData
        A fit's record.
    group : {"prior_predictive", "posterior_predictive"}
        Prior predictive: Box's (1980) check of prior-data conflict.
        Posterior predictive: conservative model check (see module docstring).
    model, unit : str
        The fit's model and fit unit (label observations as in ``used.csv``).
    prob : float
        Central probability of the replicated interval and of the flag region.

    Returns
    -------
    DataFrame, one row per observation: labels, ``n``, ``observed_count``,
    ``observed`` and the replicated ``rep_mean, rep_lower, rep_q25,
    rep_median, rep_q75, rep_upper`` on the display scale (responder rate for
    counts), ``interval_prob``, ``p_value`` (upper-tail mid-p),
    ``p_two_sided`` (2 min(p, 1 - p)), ``flagged`` and ``direction``.
    """
    if group not in ("prior_predictive", "posterior_predictive"):
        raise ValueError(f"group must be prior_predictive or posterior_predictive, not {group!r}")
    obs = observations(idata, model=model, unit=unit)
    q = [(1 - prob) / 2, 0.25, 0.5, 0.75, 1 - (1 - prob) / 2]
    rows = []
    for var, part in obs.groupby("variable", sort=False):
        draws = _draws(idata, group, var)[part["position"].to_numpy()]
        p = tail_probability(draws, part["observed_native"].to_numpy())
        scale = part["n"].to_numpy()[:, None] if var == "y" else 1.0
        shown = draws / scale
        quant = np.quantile(shown, q, axis=1)
        for i, (_, r) in enumerate(part.iterrows()):
            flagged = bool(flag(p[i], prob))
            rows.append(
                {
                    "observation": r["observation"],
                    "study_id": r["study_id"],
                    "arm": r["arm"],
                    "timepoint": r["timepoint"],
                    "kind": r["kind"],
                    "n": r["n"],
                    "observed_count": r["observed_native"] if var == "y" else np.nan,
                    "observed": r["observed"],
                    "rep_mean": float(shown[i].mean()),
                    "rep_lower": quant[0, i],
                    "rep_q25": quant[1, i],
                    "rep_median": quant[2, i],
                    "rep_q75": quant[3, i],
                    "rep_upper": quant[4, i],
                    "interval_prob": prob,
                    "p_value": float(p[i]),
                    "p_two_sided": float(2 * min(p[i], 1 - p[i])),
                    "flagged": flagged,
                    "direction": _direction(p[i], flagged),
                }
            )
    table = pd.DataFrame(rows)
    table.insert(0, "check", group.replace("_predictive", "_predictive_check"))
    return table


def prior_rates(idata, *, unit: str, prob: float) -> pd.DataFrame:
    """Responder rates (and the risk difference) the priors imply, from the record's ``prior`` group.

    One row per quantity x timepoint: ``quantity, timepoint, mean, sd,
    lower, q25, median, q75, upper, interval_prob``, plus the prior
    probability that a rate is below 5 % or above 95 % (``p_below_0.05``,
    ``p_above_0.95``; NaN for the risk difference), which shows a prior that
    piles its mass at the ends of the probability scale.
    """
    q = [(1 - prob) / 2, 0.25, 0.5, 0.75, 1 - (1 - prob) / 2]
    rows = []
    for name in IMPLIED_RATES:
        if name not in idata.prior:
            continue
        da = idata.prior[name].stack(__sample__=("chain", "draw"))
        tps = [str(t) for t in da["timepoint"].values] if "timepoint" in da.dims else [unit]
        for tp in tps:
            x = np.asarray((da.sel(timepoint=tp) if "timepoint" in da.dims else da).values, dtype=float)
            is_rate = name != "risk_difference"
            qs = np.quantile(x, q)
            rows.append(
                {
                    "quantity": name,
                    "timepoint": tp,
                    "mean": x.mean(),
                    "sd": x.std(ddof=1),
                    "lower": qs[0],
                    "q25": qs[1],
                    "median": qs[2],
                    "q75": qs[3],
                    "upper": qs[4],
                    "interval_prob": prob,
                    "p_below_0.05": float((x < 0.05).mean()) if is_rate else np.nan,
                    "p_above_0.95": float((x > 0.95).mean()) if is_rate else np.nan,
                }
            )
    return pd.DataFrame(rows)


# ---- the one-file summary ------------------------------------------------------------------------------------
def summary_rows(
    table: pd.DataFrame, *, model: str, unit: str, prior_set: str, prob: float, uniformity: dict | None = None
) -> pd.DataFrame:
    """Rows of ``results/checks/predictive_checks.csv`` from one check's table.

    ``p_value`` is always the probability that a replicate exceeds the observed
    value (mid-p for counts): for LOO-PIT rows ``1 - loo_pit`` and
    ``statistic`` the LOO-PIT. A ``uniformity`` dict (from
    :func:`pit_uniformity`) adds one row, observation ``all``, with its own
    p-value and flag.
    """
    alpha = (1 - prob) / 2
    rule = f"flagged if p < {alpha:g} or p > {1 - alpha:g}"
    out = pd.DataFrame(
        {
            "model": model,
            "unit": unit,
            "prior_set": prior_set,
            "check": table["check"],
            "observation": table["observation"],
            "study_id": table["study_id"],
            "arm": table["arm"],
            "timepoint": table["timepoint"],
            "kind": table["kind"],
            "observed": table["observed"],
        }
    )
    if "loo_pit" in table:
        out["statistic"] = table["loo_pit"]
        out["p_value"] = 1.0 - table["loo_pit"]
        out["flagged"] = flag(out["p_value"].to_numpy(), prob)
        out["flag_rule"] = rule + " (LOO predictive)"
        out["pareto_k"] = table["pareto_k"]
    else:
        out["statistic"] = table["p_two_sided"]
        out["p_value"] = table["p_value"]
        out["flagged"] = table["flagged"].astype(bool)
        out["flag_rule"] = rule
        out["pareto_k"] = np.nan
    if uniformity is not None:
        row = {
            "model": model,
            "unit": unit,
            "prior_set": prior_set,
            "check": "loo_pit_uniformity",
            "observation": "all",
            "study_id": "",
            "arm": "",
            "timepoint": "",
            "kind": "all",
            "observed": np.nan,
            "statistic": uniformity["statistic"],
            "p_value": uniformity["p_value"],
            "flagged": uniformity["flagged"],
            "flag_rule": f"flagged if the PIT ECDF leaves the {prob * 100:g} % simultaneous band "
            f"(N = {uniformity['n']}, {uniformity['n_points']} points)",
            "pareto_k": float(table["pareto_k"].max()),
        }
        out = pd.concat([out, pd.DataFrame([row])], ignore_index=True)
    return out[SUMMARY_COLUMNS]


UNIFORMITY_COLUMNS = [
    "model",
    "unit",
    "prior_set",
    "n",
    "n_points",
    "prob",
    "statistic",
    "p_value",
    "flagged",
    "n_pareto_k_bad",
    "pareto_k_max",
]


def uniformity_row(uniformity: dict, table: pd.DataFrame, *, model: str, unit: str, prior_set: str) -> pd.DataFrame:
    """One-row table of :func:`pit_uniformity`'s result, with the Pareto-k summary of ``table``."""
    row = {
        "model": model,
        "unit": unit,
        "prior_set": prior_set,
        **{k: uniformity[k] for k in ("n", "n_points", "prob", "statistic", "p_value", "flagged")},
        "n_pareto_k_bad": int((~table["k_good"].astype(bool)).sum()),
        "pareto_k_max": float(table["pareto_k"].max()),
    }
    return pd.DataFrame([row], columns=UNIFORMITY_COLUMNS)


def collect(tables: list[pd.DataFrame], uniformity: list[pd.DataFrame], *, prob: float) -> pd.DataFrame:
    """The one-file summary from every check's table (each with ``model, unit, prior_set`` columns).

    ``uniformity`` rows (from :func:`uniformity_row`) are attached to the
    LOO-PIT table of the same model and unit.
    """
    unif = {(r["model"], r["unit"]): r for u in uniformity for r in u.to_dict("records")}
    parts = []
    for table in tables:
        if table.empty:
            continue
        model, unit, prior_set = (str(table[c].iloc[0]) for c in ("model", "unit", "prior_set"))
        extra = unif.get((model, unit)) if "loo_pit" in table else None
        parts.append(summary_rows(table, model=model, unit=unit, prior_set=prior_set, prob=prob, uniformity=extra))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SUMMARY_COLUMNS)
