"""Posterior summaries with the field's names, derived from the InferenceData record."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
from scipy import stats

from crpsmeta.fitting.record import constant_data, record_seed
from crpsmeta.registry import spec
from crpsmeta.vocabulary import JOINT

# The public column order of results/summaries/estimands.csv.
ESTIMAND_COLUMNS = [
    "model",
    "prior_set",
    "timepoint",
    "estimand",
    "mean",
    "sd",
    "median",
    "lower",
    "upper",
    "interval_prob",
    "interval_type",
    "r_hat",
    "ess_bulk",
    "ess_tail",
    "contraction",
    "note",
]


# Estimand name (public interface) -> posterior variable, for the models fitted per timepoint.
ESTIMANDS = {
    "pooled_rate": {
        "pooled_rate": "pooled_rate",  # inverse-logit of mu: the rate in an average study
        "predicted_rate": "predicted_rate",  # the rate in a new study (prediction interval)
        "mu": "mu",  # logit of the pooled rate
        "tau": "tau",  # between-study SD on the logit scale
        "i2": "i2",  # share of variation between studies (descriptive)
    },
    "placebo_map": {
        "predicted_placebo_rate": "predicted_rate",  # MAP prior: a new study's placebo rate
        "pooled_placebo_rate": "pooled_rate",
        "tau": "tau",
    },
}


# placebo_adjusted: per-timepoint variables (dim "timepoint") and scalars.
PLACEBO_ADJUSTED_BY_TIMEPOINT = {
    "placebo_response_rate": "placebo_response_rate",
    "ketamine_response_rate": "ketamine_response_rate",
    "risk_difference": "risk_difference",
    "odds_ratio": "odds_ratio",
    "log_odds_ratio": "effect",
    "placebo_logit": "placebo_mu",
}


PLACEBO_ADJUSTED_SCALARS = {"tau": "tau", "tau_placebo": "tau_placebo", "design_bias": "design_bias"}


def _interval(x: np.ndarray, prob: float, interval_type: str) -> tuple[float, float]:
    if interval_type == "equal_tailed":
        lo, hi = np.quantile(x, [(1 - prob) / 2, 1 - (1 - prob) / 2])
        return float(lo), float(hi)
    if interval_type == "hdi":
        lo, hi = az.hdi(np.asarray(x), hdi_prob=prob)
        return float(lo), float(hi)
    raise ValueError(f"unknown interval type {interval_type!r}")


def _convergence(x: np.ndarray) -> dict:
    varies = np.ptp(x) > 0
    return {
        "r_hat": float(az.rhat(x)) if varies else float("nan"),
        "ess_bulk": float(az.ess(x, method="bulk")) if varies else float("nan"),
        "ess_tail": float(az.ess(x, method="tail")) if varies else float("nan"),
    }


def summarize_draws(da, prob: float = 0.95, interval_type: str = "equal_tailed") -> dict:
    """Mean, SD, median, interval and convergence of one scalar posterior quantity (chain, draw)."""
    x = np.asarray(getattr(da, "values", da), dtype=float)
    flat = x.reshape(-1)
    lower, upper = _interval(flat, prob, interval_type)
    return {
        "mean": float(flat.mean()),
        "sd": float(flat.std(ddof=1)),
        "median": float(np.median(flat)),
        "lower": lower,
        "upper": upper,
        "interval_prob": prob,
        "interval_type": interval_type,
        **_convergence(x),
    }


def contraction(posterior, prior) -> float:
    """Prior-to-posterior contraction 1 - Var(posterior) / Var(prior) (Schad, Betancourt, Vasishth 2021).

    Near 0: the data barely inform the quantity; near 1: the data dominate the prior.
    """
    post, pri = np.asarray(posterior, dtype=float).ravel(), np.asarray(prior, dtype=float).ravel()
    pri = pri[np.isfinite(pri)]
    if pri.size < 2 or not np.var(pri) > 0:
        return float("nan")
    return float(1.0 - np.var(post) / np.var(pri))


def _draws_row(post, prior, prob, interval_type, note="", **labels) -> dict:
    """A row from posterior draws (chain, draw) and, when given, prior draws (for the contraction)."""
    row = {**labels, **summarize_draws(post, prob, interval_type), "note": note}
    row["contraction"] = contraction(getattr(post, "values", post), prior) if prior is not None else float("nan")
    return row


def _new_study_normals(shape, rho, rng) -> np.ndarray:
    """Standard normal pairs (immediate, follow-up) with correlation ``rho`` (one per draw): shape + (2,)."""
    z = rng.standard_normal((*shape, 2))
    return np.stack([z[..., 0], rho * z[..., 0] + np.sqrt(1.0 - rho**2) * z[..., 1]], axis=-1)


def placebo_adjusted_derived(group, seed: int) -> dict[str, np.ndarray]:
    """Quantities of the placebo-adjusted model derived from one group's draws (posterior or prior).

    Every array has shape (chain, draw, timepoint):

    - ``predicted_placebo_rate``, ``predicted_ketamine_rate``,
      ``predicted_risk_difference``: a new randomised study's arms, drawing
      its study effects from the random-effects distributions (correlated
      across timepoints by ``rho``), at the reference responder definition;
      the spread is the prediction interval (as bayesmeta's ``predict``);
      ``predicted_log_odds_ratio`` is that study's effect;
    - ``single_arm_rate``: the expected responder rate of an uncontrolled
      series, ``invlogit(placebo_mu + effect + design_bias)``, i.e. the raw
      rate the single-arm studies estimate;
    - ``placebo_share``: placebo response rate / single-arm rate, the share of
      the raw responder rate that the placebo term explains.

    ``seed`` fixes the new-study draws, so the same record gives the same numbers.
    """
    rng = np.random.default_rng(int(seed))
    placebo_mu = np.asarray(group["placebo_mu"].transpose("chain", "draw", "timepoint").values, dtype=float)
    effect = np.asarray(group["effect"].transpose("chain", "draw", "timepoint").values, dtype=float)
    shape = placebo_mu.shape[:2]

    def scalar(name, default):
        return np.asarray(group[name].values, dtype=float) if name in group else np.full(shape, default)

    rho = scalar("rho", 0.0)
    tau, tau_placebo = scalar("tau", 0.0)[..., None], scalar("tau_placebo", 0.0)[..., None]
    bias = scalar("design_bias", 0.0)[..., None]
    u, v = _new_study_normals(shape, rho, rng), _new_study_normals(shape, rho, rng)
    expit = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731
    alpha_new = placebo_mu + tau_placebo * v
    delta_new = effect + tau * u
    placebo_rate, single_arm = expit(placebo_mu), expit(placebo_mu + effect + bias)
    return {
        "predicted_placebo_rate": expit(alpha_new),
        "predicted_ketamine_rate": expit(alpha_new + delta_new),
        "predicted_risk_difference": expit(alpha_new + delta_new) - expit(alpha_new),
        "predicted_log_odds_ratio": delta_new,
        "single_arm_rate": single_arm,
        "placebo_share": placebo_rate / single_arm,
    }


# placebo_adjusted rows derived by placebo_adjusted_derived(): estimand -> note
PLACEBO_ADJUSTED_DERIVED_NOTES = {
    "predicted_placebo_rate": "prediction: placebo rate in a new randomised study",
    "predicted_ketamine_rate": "prediction: ketamine rate in a new randomised study",
    "predicted_risk_difference": "prediction: risk difference in a new randomised study",
    "predicted_log_odds_ratio": "prediction: log odds ratio in a new randomised study",
    "single_arm_rate": "expected rate of an uncontrolled series: placebo + ketamine effect + design bias",
    "placebo_share": "placebo response rate / single_arm_rate: share of the uncontrolled-series rate (reference "
    "definition) that the placebo term explains",
}


def _row(idata, var, sel, prob, interval_type, **labels) -> dict:
    post = idata.posterior[var].sel(sel) if sel else idata.posterior[var]
    prior = None
    if "prior" in idata.groups() and var in idata.prior:
        prior = (idata.prior[var].sel(sel) if sel else idata.prior[var]).values
    return _draws_row(post, prior, prob, interval_type, **labels)


def probability_row(indicator, **labels) -> dict:
    """A posterior probability: ``mean`` is the probability, ``sd`` its Monte Carlo standard error."""
    x = np.asarray(indicator, dtype=float)
    conv = _convergence(x)
    p = float(x.mean())
    ess = conv["ess_bulk"] if np.isfinite(conv["ess_bulk"]) else x.size
    return {
        **labels,
        "mean": p,
        "sd": float(np.sqrt(p * (1 - p) / ess)),
        "median": float("nan"),
        "lower": float("nan"),
        "upper": float("nan"),
        "interval_prob": float("nan"),
        "interval_type": "",
        **conv,
        "contraction": float("nan"),
        "note": "posterior probability (sd = Monte Carlo standard error)",
    }


def nnt_row(risk_difference, prob: float, interval_type: str, **labels) -> dict:
    """Number needed to treat from the risk-difference draws (Altman 1998, BMJ 317:1309).

    NNT = 1 / RD at the median and interval ends. When the RD interval
    includes 0 the NNT interval is not a range of numbers: it runs from the
    NNT to benefit (NNTB, lower) through infinity to the NNT to harm (NNTH,
    reported as a negative upper), and the ``note`` says so.
    """
    rd = np.asarray(risk_difference, dtype=float)
    lo, hi = _interval(rd.ravel(), prob, interval_type)
    med = float(np.median(rd))
    inv = lambda v: float("inf") if v == 0 else 1.0 / v  # noqa: E731
    if lo > 0:
        lower, upper, note = inv(hi), inv(lo), "NNT to benefit: 1 / risk difference"
    elif hi < 0:
        lower, upper, note = inv(lo), inv(hi), "negative: number needed to harm (1 / risk difference)"
    else:
        lower, upper = inv(hi), inv(lo)
        note = (
            f"risk-difference interval includes 0: NNT runs from NNTB {lower:.1f} through infinity to "
            f"NNTH {abs(upper):.1f} (Altman 1998); upper is negative = harm"
        )
    return {
        **labels,
        "mean": float("nan"),
        "sd": float("nan"),
        "median": inv(med),
        "lower": lower,
        "upper": upper,
        "interval_prob": prob,
        "interval_type": interval_type,
        **_convergence(rd),
        "contraction": float("nan"),
        "note": note,
    }


def moment_ess(draws) -> float:
    """Prior effective sample size of a rate by moment matching to a Beta (RBesT's ``ess(method = "moment")``)."""
    x = np.asarray(draws, dtype=float).ravel()
    m, v = x.mean(), x.var()
    return float(m * (1 - m) / v - 1)


def estimands_table(
    idata,
    *,
    model: str,
    prior_set: str,
    timepoint: str,
    prob: float = 0.95,
    interval_type: str = "equal_tailed",
    threshold: float = 0.10,
    timepoints: tuple[str, ...] = ("immediate", "followup"),
    time_course: dict | None = None,
) -> pd.DataFrame:
    """One row per estimand (and timepoint) of a fit.

    ``timepoint`` is the fit unit: a timepoint, or ``joint`` for placebo_adjusted,
    whose rows are then written per timepoint in ``timepoints``. A time_course fit's rows are written per
    week of ``time_course["weeks"]`` (timepoint ``week_<w>``, :func:`week_label`) and once for the
    half-life and the week the difference falls below ``threshold`` (searched up to
    ``time_course["horizon"]``).
    """
    time_course = dict(time_course or {"weeks": [0, 4, 8, 12], "horizon": 26})
    rows = []
    if model in ESTIMANDS:
        labels = dict(model=model, prior_set=prior_set, timepoint=timepoint)
        for estimand, var in ESTIMANDS[model].items():
            if not np.isfinite(idata.posterior[var].values).all():
                continue  # e.g. I-squared is undefined with a single study
            rows.append(_row(idata, var, None, prob, interval_type, estimand=estimand, **labels))
        if model == "placebo_map":
            ess = moment_ess(idata.posterior["predicted_rate"].values)
            rows.append(
                {
                    **labels,
                    "estimand": "predicted_placebo_rate_ess",
                    "mean": ess,
                    "sd": float("nan"),
                    "median": float("nan"),
                    "lower": float("nan"),
                    "upper": float("nan"),
                    "interval_prob": float("nan"),
                    "interval_type": "",
                    "r_hat": float("nan"),
                    "ess_bulk": float("nan"),
                    "ess_tail": float("nan"),
                    "contraction": float("nan"),
                    "note": "prior effective sample size of the MAP prior (moment method, as RBesT)",
                }
            )
    elif model == "placebo_adjusted":
        seed = record_seed(idata)
        derived = placebo_adjusted_derived(idata.posterior, seed)
        prior_derived = (
            placebo_adjusted_derived(idata.prior, seed)
            if "prior" in idata.groups() and {"placebo_mu", "effect"} <= set(idata.prior.data_vars)
            else None
        )
        tp_index = {str(t): i for i, t in enumerate(idata.posterior["timepoint"].values)}
        for tp in timepoints:
            labels = dict(model=model, prior_set=prior_set, timepoint=tp)
            sel = {"timepoint": tp}
            for estimand, var in PLACEBO_ADJUSTED_BY_TIMEPOINT.items():
                rows.append(_row(idata, var, sel, prob, interval_type, estimand=estimand, **labels))
            rd = idata.posterior["risk_difference"].sel(sel).values
            rows.append(nnt_row(rd, prob, interval_type, estimand="nnt", **labels))
            rows.append(probability_row(rd > 0, estimand="prob_risk_difference_gt_0", **labels))
            rows.append(probability_row(rd > threshold, estimand="prob_risk_difference_gt_threshold", **labels))
            rows[-1]["note"] = f"P(risk difference > {threshold:g}); " + rows[-1]["note"]
            i = tp_index[tp]
            for estimand, note in PLACEBO_ADJUSTED_DERIVED_NOTES.items():
                # a ratio's prior variance is dominated by its tails: no contraction for placebo_share
                prior = (
                    prior_derived[estimand][..., i]
                    if prior_derived is not None and estimand != "placebo_share"
                    else None
                )
                rows.append(
                    _draws_row(
                        derived[estimand][..., i], prior, prob, interval_type, note=note, estimand=estimand, **labels
                    )
                )
            rows.append(
                probability_row(
                    derived["predicted_risk_difference"][..., i] > 0,
                    estimand="prob_predicted_risk_difference_gt_0",
                    **labels,
                )
            )
            rows[-1]["note"] = "P(a new randomised study's risk difference > 0); " + rows[-1]["note"]
            if tp == "followup":
                rows.append(_row(idata, "persistence", None, prob, interval_type, estimand="persistence", **labels))
                rows[-1]["note"] = "follow-up log odds ratio as a fraction of the immediate one"
            for estimand, var in PLACEBO_ADJUSTED_SCALARS.items():
                rows.append(_row(idata, var, None, prob, interval_type, estimand=estimand, **labels))
    elif model == "time_course":
        rows += time_course_rows(
            idata, prior_set=prior_set, prob=prob, interval_type=interval_type, threshold=threshold, **time_course
        )
    else:
        raise ValueError(f"unknown model {model!r}")
    table = pd.DataFrame(rows, columns=ESTIMAND_COLUMNS)
    # the registry says what each model reports (and the report reads it from there): nothing else is written
    unlisted = sorted(set(table["estimand"]) - set(spec(model).estimands))
    if unlisted:
        raise ValueError(f"{model}'s summary would write estimands its registry entry does not list: {unlisted}")
    return table


def week_label(week: float) -> str:
    """The timepoint column of a time_course row at ``week`` weeks since the end of infusion: ``week_4``."""
    return f"week_{float(week):g}"


TIME_COURSE_NOTES = {
    "log_odds_ratio": "log odds ratio, ketamine vs placebo, at this week: effect_mu x 2^(-week / half_life)",
    "odds_ratio": "odds ratio at this week",
    "placebo_response_rate": "placebo responder rate at this week (early -> late from week 0 to placebo_late_week)",
    "ketamine_response_rate": "ketamine responder rate at this week (randomised, reference definition)",
    "risk_difference": "ketamine minus placebo responder rate at this week",
    "predicted_risk_difference": "prediction: risk difference at this week in a new randomised study",
}


def time_course_rows(
    idata, *, prior_set: str, prob: float, interval_type: str, threshold: float, weeks, horizon: float
) -> list[dict]:
    """The time-course model's rows (:mod:`crpsmeta.models.time_course`), from the record's draws."""
    from crpsmeta.models.time_course import curves, weeks_to_threshold

    late_week = float(constant_data(idata, "placebo_late_week"))
    seed = record_seed(idata)
    has_prior = "prior" in idata.groups() and {"placebo_mu", "effect_mu", "half_life"} <= set(idata.prior.data_vars)
    post = curves(idata.posterior, weeks, late_week=late_week, seed=seed)
    prior = curves(idata.prior, weeks, late_week=late_week, seed=seed) if has_prior else None
    rows = []
    for i, week in enumerate(weeks):
        labels = dict(model="time_course", prior_set=prior_set, timepoint=week_label(week))
        for estimand, note in TIME_COURSE_NOTES.items():
            pri = prior[estimand][..., i] if prior is not None else None
            rows.append(_draws_row(post[estimand][..., i], pri, prob, interval_type, note, estimand=estimand, **labels))
        rows.append(
            probability_row(
                post["risk_difference"][..., i] > threshold, estimand="prob_risk_difference_gt_threshold", **labels
            )
        )
        rows[-1]["note"] = f"P(risk difference > {threshold:g} at this week); " + rows[-1]["note"]
    labels = dict(model="time_course", prior_set=prior_set, timepoint=JOINT)
    rows.append(_row(idata, "half_life", None, prob, interval_type, estimand="half_life", **labels))
    rows[-1]["note"] = "weeks in which the ketamine-vs-placebo log odds ratio halves"
    first, censored = weeks_to_threshold(idata.posterior, threshold, late_week=late_week, horizon=horizon)
    prior_first = (
        weeks_to_threshold(idata.prior, threshold, late_week=late_week, horizon=horizon)[0] if has_prior else None
    )
    rows.append(
        _draws_row(
            first,
            prior_first,
            prob,
            interval_type,
            f"first week the risk difference is <= {threshold:g} (0 = already at week 0); "
            f"{censored.mean():.1%} of draws still above it at week {horizon:g}, counted as {horizon:g}",
            estimand="weeks_to_threshold",
            **labels,
        )
    )
    rows.append(probability_row(censored, estimand="prob_above_threshold_at_horizon", **labels))
    rows[-1]["note"] = f"P(risk difference still > {threshold:g} at week {horizon:g}); " + rows[-1]["note"]
    for estimand in ("tau", "tau_placebo", "design_bias"):
        rows.append(_row(idata, estimand, None, prob, interval_type, estimand=estimand, **labels))
    return rows


def time_course_studies_table(
    idata, used: pd.DataFrame, *, prior_set: str, prob: float = 0.95, interval_type: str = "equal_tailed"
) -> pd.DataFrame:
    """time_course: per row of the fit, its week (as reported, or the posterior median of a week the source
    does not give) and its study's modelled log odds ratio and risk difference at that week (shrunken; the
    points of the difference-over-weeks figure; :func:`crpsmeta.models.time_course.row_draws`)."""
    from crpsmeta.models.time_course import row_draws

    late_week = float(constant_data(idata, "placebo_late_week"))
    draws = row_draws(idata.posterior, used, late_week=late_week)
    rows = []
    for i, r in enumerate(used.itertuples()):
        for quantity in ("log_odds_ratio", "risk_difference"):
            s = summarize_draws(draws[quantity][..., i], prob, interval_type)
            rows.append(
                {
                    "model": "time_course",
                    "prior_set": prior_set,
                    "timepoint": r.timepoint,
                    "study_id": r.study_id,
                    "arm": r.arm,
                    "kind": getattr(r, "kind", "responders"),
                    "weeks_reported": r.weeks,
                    "weeks": float(np.median(draws["weeks"][..., i])),
                    "quantity": quantity,
                    "shrunken_mean": s["mean"],
                    "shrunken_median": s["median"],
                    "shrunken_lower": s["lower"],
                    "shrunken_upper": s["upper"],
                    "interval_prob": prob,
                    "interval_type": interval_type,
                }
            )
    return pd.DataFrame(rows)


def study_effects_table(
    idata, *, model: str, prior_set: str, prob: float = 0.95, interval_type: str = "equal_tailed"
) -> pd.DataFrame:
    """placebo_adjusted: each study's shrunken ketamine effect (log OR) and placebo baseline per timepoint."""
    rows = []
    for var, quantity in (("study_effect", "log_odds_ratio"), ("study_placebo", "placebo_logit")):
        da = idata.posterior[var]
        for sid in da["study"].values:
            for tp in da["timepoint"].values:
                s = summarize_draws(da.sel(study=sid, timepoint=tp), prob, interval_type)
                rows.append(
                    {
                        "model": model,
                        "prior_set": prior_set,
                        "timepoint": str(tp),
                        "study_id": str(sid),
                        "quantity": quantity,
                        "shrunken_mean": s["mean"],
                        "shrunken_median": s["median"],
                        "shrunken_lower": s["lower"],
                        "shrunken_upper": s["upper"],
                        "interval_prob": prob,
                        "interval_type": interval_type,
                    }
                )
    return pd.DataFrame(rows)


def clopper_pearson(x, n, prob: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) binomial interval for x successes out of n."""
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    a = (1 - prob) / 2
    lower = np.where(x > 0, stats.beta.ppf(a, np.maximum(x, 1e-12), n - x + 1), 0.0)
    upper = np.where(x < n, stats.beta.ppf(1 - a, x + 1, np.maximum(n - x, 1e-12)), 1.0)
    return lower, upper


def study_table(
    idata,
    *,
    model: str,
    prior_set: str,
    timepoint: str,
    prob: float = 0.95,
    interval_type: str = "equal_tailed",
    labels: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per study: observed rate with its exact interval and the shrunken estimate.

    ``labels`` (optional) adds columns by ``study_id`` (e.g. the responder definition).
    """
    y = constant_data(idata, "responders")
    n = constant_data(idata, "n")
    studies = [str(s) for s in idata.posterior["study"].values]
    lo, hi = clopper_pearson(y, n, prob)
    rows = []
    for i, sid in enumerate(studies):
        s = summarize_draws(idata.posterior["study_rate"].sel(study=sid), prob, interval_type)
        rows.append(
            {
                "model": model,
                "prior_set": prior_set,
                "timepoint": timepoint,
                "study_id": sid,
                "responders": int(y[i]),
                "n": int(n[i]),
                "observed_rate": y[i] / n[i],
                "observed_lower": float(lo[i]),
                "observed_upper": float(hi[i]),
                "shrunken_mean": s["mean"],
                "shrunken_median": s["median"],
                "shrunken_lower": s["lower"],
                "shrunken_upper": s["upper"],
                "interval_prob": prob,
                "interval_type": interval_type,
            }
        )
    table = pd.DataFrame(rows)
    if labels is not None:
        table = table.merge(labels, on="study_id", how="left")
    return table


def fit_summaries(
    idata,
    used: pd.DataFrame,
    *,
    model: str,
    prior_set: str,
    timepoint: str,
    prob: float,
    interval_type: str,
    threshold: float,
    timepoints: tuple[str, ...],
    time_course: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fit's two summary tables: its estimands, and its study-level estimates (placebo-adjusted study effects
    for a model of both arms, shrunken study rates beside the observed ones for a model of one arm)."""
    interval = dict(prob=prob, interval_type=interval_type)
    labels = dict(model=model, prior_set=prior_set)
    estimands = estimands_table(
        idata,
        timepoint=timepoint,
        threshold=threshold,
        timepoints=timepoints,
        time_course=time_course,
        **labels,
        **interval,
    )
    if model == "time_course":
        studies = time_course_studies_table(idata, used, prior_set=prior_set, **interval)
    elif spec(model).arm is None:
        studies = study_effects_table(idata, **labels, **interval)
    else:
        columns = ["study_id", "responder_definition", "definition_class", "design", "verification"]
        studies = study_table(idata, timepoint=timepoint, **labels, **interval, labels=used[columns])
    return estimands, studies
