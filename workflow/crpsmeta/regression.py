r"""Meta-regression and small-study effects on the ketamine responder rate.

Both extend the ``pooled_rate`` model (binomial-logit random effects on the
ketamine arms' responder counts, one fit per timepoint) with one study-level
covariate at a time (univariable: there are few studies):

.. math::

    y_i &\sim \mathrm{Binomial}(n_i, \operatorname{logit}^{-1}\theta_i) \\
    \theta_i &= \mu + (x_i - \bar x)^\top \beta + \tau z_i, \quad z_i \sim \mathcal N(0, 1) \\
    \mu, \tau &\sim \text{the prior set's pooled\_rate priors}, \quad
    \beta_j \sim \mathcal N(m, s) \text{ (config meta\_regression.coefficient\_priors)}

Covariates are **centred** at their mean over the studies in the fit, so
:math:`\mu` is the logit rate at the average covariate value and
:math:`\beta` the change in logit rate per unit of the covariate (per level,
against the reference level, for a categorical one: its indicator columns are
centred too). A study without the covariate is left out of that covariate's
fit (and listed as a gap).

Covariates (``COVARIATES``):

``dose``
    infusion rate in mg/kg/h: the midpoint of ``dose_min_mg_kg_h`` and
    ``dose_max_mg_kg_h`` in ``data/studies.csv`` (the one given when only one
    is). Studies reporting only mg/h or mg/day are left out (no body weight to
    convert with).
``days``
    infusion days (``days``; a mean where the source gives one).
``setting``
    where the infusions were given, grouped into levels by config (default:
    inpatient, with ICU counted as inpatient, versus outpatient).
``definition``
    the responder-definition class of the count, grouped into levels by config
    (default: ``partial`` relief, the reference, versus ``strict``: complete
    relief, pain free or full remission).
``se``
    the Egger-type small-study covariate: the standard error of the study's
    observed logit rate, :math:`\sqrt{1/(x+a) + 1/(n-x+a)}` with
    :math:`a = 0.5` added only to a study with a zero cell (metafor's
    ``escalc(measure = "PLO")`` default). A positive coefficient means smaller
    (less precise) studies report higher responder rates. The SE of a logit
    proportion depends on the proportion itself, so the test can be
    triggered by rates far from 50 % alone (the reason Peters et al. 2006
    prefer 1/n for binary outcomes); read it as a screening figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["COVARIATES", "REGRESSION_PREFIX", "REGRESSION_MODELS", "DEFAULT_LEVELS", "covariate_of",
           "logit_rate", "logit_se", "dose_mg_kg_h", "covariate_values", "add_covariate",
           "Design", "design", "estimable", "regression_model", "build_regression", "underpowered_label",
           "coefficient_rows", "meta_regression_table", "small_study_table", "META_COLUMNS",
           "SMALL_STUDY_COLUMNS", "LEFT_OUT", "load_fits", "funnel_plot",
           "simulate_regression"]

REGRESSION_PREFIX = "regression_"
LEFT_OUT = "left out of this regression"  # end of the gap reason of a study without the covariate


@dataclass(frozen=True)
class Covariate:
    name: str
    kind: str  # "numeric" or "categorical"
    unit: str
    definition: str


COVARIATES = {
    "dose": Covariate("dose", "numeric", "mg/kg/h",
                      "infusion rate, midpoint of dose_min_mg_kg_h and dose_max_mg_kg_h (mg/kg/h); "
                      "studies giving the dose only in mg/h or mg/day are left out"),
    "days": Covariate("days", "numeric", "day", "infusion days (mean course length where given)"),
    "setting": Covariate("setting", "categorical", "level", "where the infusions were given"),
    "definition": Covariate("definition", "categorical", "level", "responder-definition class of the count"),
    "se": Covariate("se", "numeric", "SE unit",
                    "standard error of the study's observed logit rate (0.5 added to zero cells, as metafor): "
                    "Egger-type small-study covariate"),
}
REGRESSION_MODELS = tuple(REGRESSION_PREFIX + name for name in COVARIATES)

# Default grouping of the categorical covariates' raw values into levels;
# the first level is the reference.
DEFAULT_LEVELS = {
    "setting": {"inpatient": ["inpatient", "icu"], "outpatient": ["outpatient"]},
    "definition": {"partial": ["ge30pct", "ge50pct", "ge2point_or_success", "meaningful", "any_relief"],
                   "strict": ["complete_relief", "pain_free", "full_remission"]},
}

META_COLUMNS = ["covariate", "timepoint", "term", "covariate_definition", "unit", "reference_level", "centre",
                "k", "k_by_level", "k_missing", "studies", "mean", "sd", "median", "lower", "upper",
                "interval_prob", "interval_type", "prob_gt_0", "tau_median", "r_hat", "ess_bulk", "ess_tail",
                "underpowered", "label", "note"]
SMALL_STUDY_COLUMNS = ["timepoint", "k", "studies", "mean", "sd", "median", "lower", "upper", "interval_prob",
                       "interval_type", "prob_gt_0", "flagged", "underpowered", "label", "conclusion",
                       "r_hat", "ess_bulk", "ess_tail"]


def covariate_of(model: str) -> str:
    """``regression_dose`` -> ``dose``; ValueError for anything else."""
    if not model.startswith(REGRESSION_PREFIX) or model[len(REGRESSION_PREFIX):] not in COVARIATES:
        raise ValueError(f"{model!r} is not a regression model; known: {', '.join(REGRESSION_MODELS)}")
    return model[len(REGRESSION_PREFIX):]


def _cells(responders, n):
    x = np.asarray(responders, dtype=float)
    n = np.asarray(n, dtype=float)
    add = np.where((x == 0) | (x == n), 0.5, 0.0)
    return x + add, n - x + add


def logit_rate(responders, n) -> np.ndarray:
    """Observed logit rate log((x + a) / (n - x + a)), a = 0.5 only for a zero cell (metafor's default)."""
    a, b = _cells(responders, n)
    return np.log(a / b)


def logit_se(responders, n) -> np.ndarray:
    """Standard error of the observed logit rate, sqrt(1/(x + a) + 1/(n - x + a)), a as in :func:`logit_rate`."""
    a, b = _cells(responders, n)
    return np.sqrt(1.0 / a + 1.0 / b)


def dose_mg_kg_h(studies: pd.DataFrame) -> pd.Series:
    """Infusion rate per study (index study_id): midpoint of min and max in mg/kg/h, or the one given."""
    lo = pd.to_numeric(studies["dose_min_mg_kg_h"], errors="coerce")
    hi = pd.to_numeric(studies["dose_max_mg_kg_h"], errors="coerce")
    mid = pd.concat([lo, hi], axis=1).mean(axis=1, skipna=True)  # NaN when both are missing
    return pd.Series(mid.to_numpy(), index=studies["study_id"].to_numpy(), name="dose")


def _group(raw, mapping: dict[str, list[str]]):
    for level, members in mapping.items():
        if raw in members:
            return level
    return None


def _check_levels(covariate: str, mapping: dict[str, list[str]]) -> None:
    seen = {}
    for level, members in mapping.items():
        for raw in members:
            if raw in seen:
                raise ValueError(f"meta_regression.levels.{covariate}: {raw!r} is in both {seen[raw]!r} and {level!r}")
            seen[raw] = level


def covariate_values(studies: pd.DataFrame, used: pd.DataFrame, covariate: str,
                     levels: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """The covariate of each study in ``used`` (pooled_rate input rows).

    Returns a frame aligned with ``used`` with ``value`` (the raw value: a
    number, or the data's category) and ``level`` (a categorical covariate's
    level after grouping; the value itself for a numeric one), and
    ``missing_reason`` (empty when the study has the covariate).
    """
    spec = COVARIATES[covariate]
    sid = used["study_id"]
    if covariate == "se":
        value = pd.Series(logit_se(used["responders"], used["n"]), index=used.index)
    elif covariate == "dose":
        value = sid.map(dose_mg_kg_h(studies))
    elif covariate == "days":
        value = sid.map(dict(zip(studies["study_id"], pd.to_numeric(studies["days"], errors="coerce"))))
    elif covariate == "setting":
        value = sid.map(dict(zip(studies["study_id"], studies["setting"])))
    else:  # definition
        value = used["definition_class"]
    out = pd.DataFrame({"study_id": sid, "value": value}, index=used.index)
    missing = out["value"].isna()
    if spec.kind == "categorical":
        mapping = levels or DEFAULT_LEVELS[covariate]
        _check_levels(covariate, mapping)
        level = [None if m else _group(v, mapping) for v, m in zip(out["value"], missing)]
        reason = ["not reported" if m else ("" if lvl is not None else f"value {v!r} is in no level of "
                                            f"meta_regression.levels.{covariate}")
                  for v, m, lvl in zip(out["value"], missing, level)]
        out["level"] = level
    else:
        out["level"] = out["value"].astype(float)
        reason = ["not reported" + (" in mg/kg/h" if covariate == "dose" else "") if m else "" for m in missing]
    out["missing_reason"] = reason
    return out


def add_covariate(used: pd.DataFrame, studies: pd.DataFrame, covariate: str,
                  levels: dict[str, list[str]] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split pooled_rate input rows into those with the covariate and those without.

    Returns ``(with_covariate, left_out)``: the first gets columns
    ``covariate``, ``value`` and ``level``; the second holds the rows left out
    with a ``reason``.
    """
    vals = covariate_values(studies, used, covariate, levels)
    has = vals["missing_reason"] == ""
    kept = used[has.to_numpy()].copy()
    kept["covariate"] = covariate
    kept["value"] = vals.loc[has, "value"].to_numpy()
    kept["level"] = vals.loc[has, "level"].to_numpy()
    dropped = used[~has.to_numpy()].copy()
    dropped["reason"] = [f"{covariate} {r}: {LEFT_OUT}" for r in vals.loc[~has, "missing_reason"]]
    return kept.reset_index(drop=True), dropped.reset_index(drop=True)


@dataclass(frozen=True)
class Design:
    """Centred design matrix of one univariable regression."""

    X: np.ndarray            # (k, p), centred
    terms: list[str]         # p term names: "dose", or "setting[outpatient]" per non-reference level
    centre: np.ndarray       # (p,) column means that were subtracted
    reference: str           # reference level ("" for a numeric covariate)
    counts: dict[str, int]   # studies per level (numeric: {covariate: k})


def _level_order(covariate: str, present, levels: dict | None) -> list[str]:
    mapping = levels or DEFAULT_LEVELS.get(covariate, {})
    order = [lvl for lvl in mapping if lvl in set(present)]
    return order + sorted(set(present) - set(order))


def design(used: pd.DataFrame, covariate: str, levels: dict | None = None) -> Design:
    """Centred design matrix from regression input rows (with ``level``).

    A numeric covariate gives one centred column. A categorical one gives an
    indicator per level present other than the reference (the first level, in
    config order, that any study has), each centred.
    """
    spec = COVARIATES[covariate]
    if spec.kind == "numeric":
        x = pd.to_numeric(used["level"]).to_numpy(dtype=float)
        centre = np.array([x.mean()]) if x.size else np.array([0.0])
        return Design((x - centre)[:, None], [covariate], centre, "", {covariate: int(x.size)})
    lv = used["level"].astype(str).to_numpy()
    order = _level_order(covariate, lv, levels)
    counts = {lvl: int((lv == lvl).sum()) for lvl in order}
    others = order[1:]
    D = np.column_stack([(lv == lvl).astype(float) for lvl in others]) if others else np.zeros((lv.size, 0))
    centre = D.mean(axis=0) if lv.size else np.zeros(D.shape[1])
    return Design(D - centre, [f"{covariate}[{lvl}]" for lvl in others], centre, order[0] if order else "", counts)


def estimable(used: pd.DataFrame, covariate: str, levels: dict | None = None) -> tuple[bool, str]:
    """Whether a regression on ``covariate`` can be fitted: >= 2 studies and >= 2 distinct values or levels."""
    k = len(used)
    if k < 2:
        return False, f"not fitted: {k} {'study has' if k == 1 else 'studies have'} this covariate (needs >= 2)"
    d = design(used, covariate, levels)
    if COVARIATES[covariate].kind == "numeric":
        if np.ptp(d.X[:, 0]) == 0:
            return False, f"not fitted: all {k} studies have the same value ({d.centre[0]:g})"
    elif not d.terms:
        return False, f"not fitted: all {k} studies are at one level ({d.reference})"
    return True, ""


def regression_model(responders, n, study_ids, dmat: Design, *, mu_prior, tau_prior, beta_prior):
    """The pooled_rate model plus ``theta_i += X_i beta`` (X centred; non-centred study effects).

    Posterior variables: ``mu`` (logit rate at the covariate mean), ``tau``
    (residual between-study SD), ``beta`` (dim ``term``), ``z``, ``theta``,
    ``study_rate``, ``rate_at_centre`` and ``odds_ratio`` (exp beta).
    Constant data: ``n``, ``responders``, ``X`` (centred), ``centre``.
    Prior hyperparameters are ``pm.Data`` (``beta_prior_sd``, ...).
    """
    import pymc as pm

    responders = np.asarray(responders, dtype="int64")
    n = np.asarray(n, dtype="int64")
    if responders.size < 2:
        raise ValueError("a meta-regression needs at least two studies")
    if dmat.X.shape != (responders.size, len(dmat.terms)) or not dmat.terms:
        raise ValueError("design matrix must have one row per study and at least one term")
    if np.any(n <= 0) or np.any(responders < 0) or np.any(responders > n):
        raise ValueError("need 0 <= responders <= n and n > 0 in every study")
    coords = {"study": list(study_ids), "term": list(dmat.terms)}
    with pm.Model(coords=coords) as model:
        n_data = pm.Data("n", n, dims="study")
        y_data = pm.Data("responders", responders, dims="study")
        X = pm.Data("X", dmat.X, dims=("study", "term"))
        pm.Data("centre", dmat.centre, dims="term")
        mu = mu_prior.register("mu")
        tau = tau_prior.register("tau")
        beta = beta_prior.register("beta", dims="term")
        z = pm.Normal("z", 0.0, 1.0, dims="study")
        theta = pm.Deterministic("theta", mu + pm.math.dot(X, beta) + tau * z, dims="study")
        pm.Deterministic("study_rate", pm.math.invlogit(theta), dims="study")
        pm.Deterministic("rate_at_centre", pm.math.invlogit(mu))
        pm.Deterministic("odds_ratio", pm.math.exp(beta), dims="term")
        pm.Binomial("y", n=n_data, logit_p=theta, observed=y_data, dims="study")
    return model


def underpowered_label(k: int, min_studies: int) -> str:
    """``"underpowered (k < 10)"`` when fewer than ``min_studies`` studies inform the estimate, else ``""``."""
    return f"underpowered (k < {min_studies})" if k < min_studies else ""


def coefficient_rows(idata, prob: float = 0.95, interval_type: str = "equal_tailed") -> list[dict]:
    """Summary of each coefficient of a fit: mean, sd, median, interval, P(beta > 0), convergence."""
    from .estimands import summarize_draws

    post = idata.posterior
    tau_med = float(post["tau"].median())
    rows = []
    for term in post["beta"]["term"].values:
        draws = post["beta"].sel(term=term)
        rows.append({"term": str(term), **summarize_draws(draws, prob, interval_type),
                     "prob_gt_0": float((draws.values > 0).mean()), "tau_median": tau_med})
    return rows


def _nan_stats(prob, interval_type) -> dict:
    return {k: float("nan") for k in ("mean", "sd", "median", "lower", "upper", "prob_gt_0", "tau_median",
                                      "r_hat", "ess_bulk", "ess_tail")} | {"interval_prob": prob,
                                                                          "interval_type": interval_type}


def meta_regression_table(fits: list[dict], *, min_studies: int = 10, prob: float = 0.95,
                          interval_type: str = "equal_tailed", levels: dict | None = None) -> pd.DataFrame:
    """One row per covariate x timepoint x term.

    ``fits``: dicts with ``covariate``, ``timepoint``, ``used`` (regression
    input rows), ``left_out`` (pooled_rate rows without the covariate) and
    ``idata`` (None when not fitted; then ``note`` says why). ``k`` is the
    number of studies informing the coefficient; ``k_by_level`` the studies
    per level (categorical) and ``k_missing`` those at this timepoint left
    out for want of the covariate.
    """
    rows = []
    for fit in fits:
        cov, used = fit["covariate"], fit["used"]
        spec = COVARIATES[cov]
        lv = (levels or {}).get(cov)
        d = design(used, cov, lv) if len(used) else None
        k = len(used)
        label = underpowered_label(k, min_studies)
        base = {"covariate": cov, "timepoint": fit["timepoint"], "unit": spec.unit,
                "covariate_definition": spec.definition + ("; centred at its mean" if spec.kind == "numeric" else
                                                           "; indicators centred at their means"),
                "reference_level": d.reference if d else "",
                "k": k, "k_by_level": "; ".join(f"{a}: {b}" for a, b in d.counts.items()) if d else "",
                "k_missing": len(fit["left_out"]), "studies": ";".join(used["study_id"]) if k else "",
                "underpowered": k < min_studies, "label": label}
        if fit.get("idata") is None:
            _, why = estimable(used, cov, lv) if k else (False, "not fitted: no study has this covariate")
            rows.append({**base, "term": cov, "centre": float("nan"), **_nan_stats(prob, interval_type),
                         "note": why or fit.get("note", "not fitted")})
            continue
        centre = dict(zip(d.terms, d.centre))
        for r in coefficient_rows(fit["idata"], prob, interval_type):
            note = (f"change in logit responder rate per {spec.unit}" if spec.kind == "numeric" else
                    f"logit responder rate of {r['term']} minus {d.reference}")
            if fit.get("failed_gates"):
                note += "; CONVERGENCE GATE FAILED: " + ", ".join(fit["failed_gates"])
            rows.append({**base, **r, "centre": float(centre[r["term"]]), "note": note})
    return pd.DataFrame(rows, columns=META_COLUMNS)


def small_study_table(fits: list[dict], *, min_studies: int = 10, prob: float = 0.95,
                      interval_type: str = "equal_tailed") -> pd.DataFrame:
    """One row per timepoint: the Egger-type coefficient (regression on the SE of the logit rate).

    ``flagged`` is True when the coefficient's interval excludes 0; its sign
    says the direction (positive: less precise studies report higher rates,
    the pattern publication bias produces). ``label`` is the underpowered
    label when fewer than ``min_studies`` studies contribute.
    """
    rows = []
    for fit in fits:
        used = fit["used"]
        k = len(used)
        label = underpowered_label(k, min_studies)
        base = {"timepoint": fit["timepoint"], "k": k, "studies": ";".join(used["study_id"]) if k else "",
                "underpowered": k < min_studies, "label": label}
        if fit.get("idata") is None:
            _, why = estimable(used, "se") if k else (False, "not fitted: no study at this timepoint")
            rows.append({**base, **_nan_stats(prob, interval_type), "flagged": False,
                         "conclusion": why or fit.get("note", "not fitted")})
            continue
        (r,) = coefficient_rows(fit["idata"], prob, interval_type)
        r.pop("term"), r.pop("tau_median")
        flagged = bool(r["lower"] > 0 or r["upper"] < 0)
        pct = f"{prob * 100:g} %"
        if flagged and r["median"] > 0:
            text = f"small-study effect: less precise studies report higher rates ({pct} interval excludes 0)"
        elif flagged:
            text = f"reverse small-study effect: less precise studies report lower rates ({pct} interval excludes 0)"
        else:
            text = f"no small-study effect detected ({pct} interval includes 0)"
        if label:
            text += f"; {label}: too few studies to rule one out"
        if fit.get("failed_gates"):
            text += "; CONVERGENCE GATE FAILED: " + ", ".join(fit["failed_gates"])
        rows.append({**base, **r, "flagged": flagged, "conclusion": text})
    return pd.DataFrame(rows, columns=SMALL_STUDY_COLUMNS)


def simulate_regression(x, n, *, mu: float, tau: float, beta: float, rng: np.random.Generator) -> pd.DataFrame:
    """Responder counts with a known covariate effect: theta_i = mu + beta (x_i - mean x) + tau z_i.

    For a simulated small-study effect pass ``x`` = the expected standard
    error of each study's logit rate, 1 / sqrt(n p (1 - p)).
    """
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=int)
    theta = mu + beta * (x - x.mean()) + tau * rng.standard_normal(x.size)
    y = rng.binomial(n, 1.0 / (1.0 + np.exp(-theta)))
    return pd.DataFrame({"study_id": [f"Sim{i + 1:03d}" for i in range(x.size)], "n": n, "responders": y,
                         "x": x, "theta": theta, "definition_class": "ge30pct"})


def load_fits(plan: list[dict], used_paths, gaps_paths, idata_paths, diagnostics_paths) -> list[dict]:
    """Read what the tables need for each planned regression.

    ``plan`` has one dict per regression (``covariate``, ``timepoint``,
    ``fitted``, ``note``), in the order of ``used_paths`` and ``gaps_paths``;
    ``idata_paths`` and ``diagnostics_paths`` follow the fitted ones only.
    Returns dicts for :func:`meta_regression_table` and
    :func:`small_study_table` (``failed_gates`` lists diagnostics that failed
    a gate demoted to a warning).
    """
    import arviz as az

    records = iter(zip(idata_paths, diagnostics_paths))
    fits = []
    for p, used_path, gaps_path in zip(plan, used_paths, gaps_paths, strict=True):
        used = pd.read_csv(used_path, dtype={"study_id": str})
        gaps = pd.read_csv(gaps_path, dtype={"study_id": str})
        left_out = (gaps[gaps["reason"].astype(str).str.endswith(LEFT_OUT)] if "reason" in gaps
                    else gaps.iloc[0:0])
        fit = {"covariate": p["covariate"], "timepoint": p["timepoint"], "used": used, "left_out": left_out,
               "idata": None, "note": p.get("note", ""), "failed_gates": []}
        if p["fitted"]:
            idata_path, diag_path = next(records)
            fit["idata"] = az.from_netcdf(idata_path)
            diag = pd.read_csv(diag_path)
            fit["failed_gates"] = [f"{r.diagnostic} = {r.value:g} (threshold {r.threshold:g})"
                                   for r in diag.itertuples() if not bool(r.passed)]
        fits.append(fit)
    if next(records, None) is not None:
        raise ValueError("more fit records than fitted regressions in the plan")
    return fits


def funnel_plot(used: pd.DataFrame, *, timepoint_text: str, pooled_mu=None, egger=None, prob: float = 0.95,
                label: str = "", summary: str = "", prior_text: str = ""):
    """Funnel plot: observed logit rate (x) against its standard error (y, inverted, as metafor's funnel()).

    Parameters
    ----------
    used : DataFrame
        ``study_id``, ``responders``, ``n`` of the studies at this timepoint.
    pooled_mu : array-like, optional
        Posterior draws of the pooled logit rate (pooled_rate's ``mu``): its
        median is the vertical line, and the pseudo 95 % region is
        median +/- 1.96 x SE.
    egger : InferenceData, optional
        The regression_se fit: its line mu + beta (SE - centre) is drawn
        (posterior median and ``prob`` band).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.special import expit, logit

    x = logit_rate(used["responders"], used["n"])
    se = logit_se(used["responders"], used["n"])
    fig, ax = plt.subplots(figsize=(8.5, 8.0))
    top = max(float(se.max()) * 1.15 if se.size else 1.0, 0.5)
    grid = np.linspace(0.0, top, 100)
    if pooled_mu is not None:
        m = float(np.median(np.asarray(pooled_mu)))
        ax.fill_betweenx(grid, m - 1.96 * grid, m + 1.96 * grid, color="0.92", zorder=0,
                         label="pseudo 95 % region: pooled ± 1.96 × SE")
        ax.plot(m - 1.96 * grid, grid, color="0.55", lw=0.8, ls="--")
        ax.plot(m + 1.96 * grid, grid, color="0.55", lw=0.8, ls="--")
        ax.axvline(m, color="tab:red", lw=1.2, label=f"pooled logit rate (pooled_rate) {m:.2f} = {expit(m):.0%}")
    if egger is not None:
        post = egger.posterior
        mu = post["mu"].values.reshape(-1)
        beta = post["beta"].values.reshape(-1)
        centre = float(egger.constant_data["centre"].values.reshape(-1)[0])
        lines = mu[:, None] + beta[:, None] * (grid[None, :] - centre)
        lo, med, hi = np.quantile(lines, [(1 - prob) / 2, 0.5, 1 - (1 - prob) / 2], axis=0)
        ax.fill_betweenx(grid, lo, hi, color="tab:blue", alpha=0.07, lw=0)
        ax.plot(lo, grid, color="tab:blue", lw=0.8, ls=":")
        ax.plot(hi, grid, color="tab:blue", lw=0.8, ls=":", label=f"its {prob * 100:g} % credible band")
        ax.plot(med, grid, color="tab:blue", lw=1.5,
                label=f"Egger-type line (median): logit rate = mu + beta × (SE − {centre:.2f})")
    sizes = 20 + 180 * np.asarray(used["n"], dtype=float) / max(float(np.max(used["n"])), 1.0)
    ax.scatter(x, se, s=sizes, color="black", zorder=3, label="study (area ~ n)")
    for xi, si, sid, y, n in zip(x, se, used["study_id"], used["responders"], used["n"]):
        ax.annotate(f"{sid} {y}/{n}", (xi, si), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_ylim(top, 0.0)
    span = np.concatenate([x, [np.median(pooled_mu)] if pooled_mu is not None else []])
    half = max(1.96 * top, float(np.max(np.abs(span - np.median(span)))) + 0.5) if span.size else 3.0
    mid = float(np.median(pooled_mu)) if pooled_mu is not None else float(np.median(x)) if x.size else 0.0
    ax.set_xlim(mid - half, mid + half)
    ax.set_xlabel("observed logit responder rate, log((x + a) / (n − x + a))")
    ax.set_ylabel("standard error of the logit rate (inverted: precise studies at the top)")
    sec = ax.secondary_xaxis("top", functions=(lambda v: expit(v), lambda p: logit(np.clip(p, 1e-6, 1 - 1e-6))))
    sec.set_xticks([0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95])
    sec.set_xlabel("responder rate")
    title = f"Funnel plot of ketamine responder rates {timepoint_text}"
    if label:
        title += f" — {label}"
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.1), fontsize=7, ncol=2, frameon=False)  # never hides a study
    footer = ("How to read: each dot is a study, placed by its observed responder rate (logit scale, x) and how "
              "imprecise it is (standard error, y; small studies low down). Without small-study effects the dots "
              "scatter symmetrically inside the grey funnel around the red pooled line; a blue Egger-type line "
              "that tilts (its band not vertical) means the rate changes with study size. A positive coefficient "
              "= less precise studies report higher rates. With few studies the plot and the coefficient cannot "
              "rule a small-study effect in or out. 0.5 is added to both cells of a study with 0 or n "
              "responders (metafor).")
    if summary:
        footer += "\n" + summary
    if prior_text:
        footer += " " + prior_text
    fig.text(0.01, 0.01, footer, fontsize=7, va="bottom", wrap=True)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.89, bottom=0.29)
    return fig


def build_regression(model: str, used: pd.DataFrame, priors: dict, options: dict | None = None):
    """The PyMC model of a ``regression_<covariate>`` fit from its input rows.

    ``priors`` is the prior set's pooled_rate block (mu, tau); ``options``
    holds ``coefficient_prior`` (a prior mapping, default Normal(0, 1)) and
    ``levels`` (grouping of a categorical covariate's values).
    """
    from .priors import prior_from_dict

    options = options or {}
    covariate = covariate_of(model)
    dmat = design(used, covariate, options.get("levels"))
    beta = prior_from_dict(options.get("coefficient_prior", {"family": "normal", "mean": 0.0, "sd": 1.0}))
    return regression_model(used["responders"].to_numpy(), used["n"].to_numpy(), list(used["study_id"]), dmat,
                            mu_prior=prior_from_dict(priors["mu"]), tau_prior=prior_from_dict(priors["tau"]),
                            beta_prior=beta)
