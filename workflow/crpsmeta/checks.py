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

import contextlib
import warnings

import numpy as np
import pandas as pd

from .registry import pooled_arm

# ArviZ, SciPy and matplotlib are imported where they are used, so that collecting
# the tables (rule collect_predictive_checks) starts in a fraction of a second.

__all__ = ["KINDS", "SUMMARY_COLUMNS", "observations", "tail_probability", "flag", "predictive_check",
           "prior_rates", "loo_pit", "pit_uniformity", "summary_rows", "uniformity_row", "collect",
           "predictive_check_plot", "loo_pit_plot", "PRIOR_HOW_TO_READ", "POSTERIOR_HOW_TO_READ"]

# observed variable -> kind of observation (as in used.csv's ``kind`` column)
KINDS = {"y": "responders", "contrast": "contrast", "pain": "pain"}
# how each kind is shown
SCALES = {"responders": "responder rate (responders / n)",
          "contrast": "log odds ratio, ketamine vs placebo",
          "pain": "standardised pain improvement d"}
# prior quantities on the probability scale, by model
IMPLIED_RATES = ("pooled_rate", "predicted_rate", "placebo_response_rate", "ketamine_response_rate",
                 "risk_difference")
SUMMARY_COLUMNS = ["model", "unit", "prior_set", "check", "observation", "study_id", "arm", "timepoint", "kind",
                   "observed", "statistic", "p_value", "flagged", "flag_rule", "pareto_k"]


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
        n = (np.asarray(idata.constant_data["n"].values, dtype=float) if var == "y"
             else np.full(len(labels), np.nan))
        for pos, (label, value) in enumerate(zip(labels, np.asarray(obs.values, dtype=float))):
            parts = label.split("/")
            if dim == "study":  # pooled_rate / placebo_map: one count per study at one timepoint
                study, arm, timepoint = label, pooled_arm(model) or "ketamine", unit
            elif var == "contrast":
                study, arm, timepoint = parts[0], "ketamine_vs_placebo", parts[-1]
            else:
                study, arm, timepoint = parts
            rows.append({"observation": f"{study}/{arm}/{timepoint}", "variable": var, "position": pos,
                         "study_id": study, "arm": arm, "timepoint": timepoint, "kind": kind, "n": n[pos],
                         "observed_native": value,
                         "observed": value / n[pos] if var == "y" else value})
    return pd.DataFrame(rows, columns=["observation", "variable", "position", "study_id", "arm", "timepoint",
                                       "kind", "n", "observed_native", "observed"])


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
            rows.append({"observation": r["observation"], "study_id": r["study_id"], "arm": r["arm"],
                         "timepoint": r["timepoint"], "kind": r["kind"], "n": r["n"],
                         "observed_count": r["observed_native"] if var == "y" else np.nan,
                         "observed": r["observed"], "rep_mean": float(shown[i].mean()),
                         "rep_lower": quant[0, i], "rep_q25": quant[1, i], "rep_median": quant[2, i],
                         "rep_q75": quant[3, i], "rep_upper": quant[4, i], "interval_prob": prob,
                         "p_value": float(p[i]), "p_two_sided": float(2 * min(p[i], 1 - p[i])),
                         "flagged": flagged, "direction": _direction(p[i], flagged)})
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
            rows.append({"quantity": name, "timepoint": tp, "mean": x.mean(), "sd": x.std(ddof=1),
                         "lower": qs[0], "q25": qs[1], "median": qs[2], "q75": qs[3], "upper": qs[4],
                         "interval_prob": prob,
                         "p_below_0.05": float((x < 0.05).mean()) if is_rate else np.nan,
                         "p_above_0.95": float((x > 0.95).mean()) if is_rate else np.nan})
    return pd.DataFrame(rows)


# ---- LOO-PIT -------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _without_numba():
    """ArviZ's band optimiser without numba: for tens of PIT values the plain-NumPy path takes
    milliseconds, while numba's just-in-time compile costs seconds in every fresh process."""
    from arviz.utils import Numba

    was = Numba.numba_flag
    Numba.disable_numba()
    try:
        yield
    finally:
        Numba.numba_flag = was


def _relative_efficiency(idata) -> float:
    """Relative MCMC efficiency for PSIS, computed as ArviZ's ``loo`` does."""
    import arviz as az

    posterior = idata.posterior
    n_chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    if n_chains == 1:
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ess = az.ess(posterior, method="mean")
    values = np.hstack([np.ravel(ess[v].values) for v in ess.data_vars])
    return float(np.nanmean(values) / (n_chains * n_draws))


def loo_pit(idata, *, model: str, unit: str, seed: int, randomise: bool = True) -> pd.DataFrame:
    """PSIS-weighted leave-one-out PIT of every observation.

    For observation :math:`i` with PSIS weights :math:`w_s^{(i)}` (from
    :func:`arviz.psislw` on the record's log-likelihood, ``r_eff`` as in
    :func:`arviz.loo`) and posterior predictive replicates :math:`y_s^{rep}`:

    - continuous observations (``contrast``, ``pain``):
      :math:`\\mathrm{PIT}_i = \\sum_s w_s 1(y^{rep}_s \\le y_i)`;
    - binomial counts: the **randomised** PIT (Czado, Gneiting, Held 2009)
      :math:`\\sum_s w_s [1(y^{rep}_s < y_i) + U_i\\,1(y^{rep}_s = y_i)]`,
      :math:`U_i \\sim \\mathrm{Uniform}(0, 1)` (seeded by ``seed``). For a
      calibrated model it is exactly Uniform(0, 1); the plain PIT of a count is
      not (it piles up at the atoms of the predictive distribution), and
      ArviZ 0.23's ``loo_pit`` instead interpolates integer data with a cubic
      spline across observations, which has no such guarantee.

    ``randomise=False`` gives the plain PIT :math:`\\sum_s w_s 1(y^{rep}_s \\le y_i)` for counts too (for
    comparison only: it is not uniform for a calibrated model of counts).

    Returns one row per observation: labels, ``observed``, ``loo_pit``,
    ``randomised``, ``pareto_k``, ``pareto_k_threshold`` (min(1 - 1/log10 S,
    0.7), Vehtari et al. 2024) and ``k_good``. A PIT with a bad Pareto-k is
    unreliable (the importance weights do not approximate leaving the
    observation out); refit without it to check.
    """
    import arviz as az

    from .comparison import pareto_k_threshold

    obs = observations(idata, model=model, unit=unit)
    if obs.empty:
        raise ValueError("the record has no observations")
    rng = np.random.default_rng(seed)
    reff = _relative_efficiency(idata)
    rows = []
    for var, part in obs.groupby("variable", sort=False):
        if var not in idata.log_likelihood or var not in idata.posterior_predictive:
            raise ValueError(f"the record has no log-likelihood or posterior predictive of {var!r}")
        ll = idata.log_likelihood[var]
        (dim,) = [d for d in ll.dims if d not in ("chain", "draw")]
        ll = ll.stack(__sample__=("chain", "draw")).transpose(dim, "__sample__")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # high k is reported in the table
            log_w, k = az.psislw(-ll, reff=reff)
        weights = np.exp(np.asarray(log_w.values, dtype=float))
        weights /= weights.sum(axis=1, keepdims=True)
        pos = part["position"].to_numpy()
        weights, k = weights[pos], np.asarray(k.values if hasattr(k, "values") else k, dtype=float)[pos]
        draws = _draws(idata, "posterior_predictive", var)[pos]
        y = part["observed_native"].to_numpy()[:, None]
        below = (weights * (draws < y)).sum(axis=1)
        tie = (weights * (draws == y)).sum(axis=1)
        discrete = var == "y" and randomise
        u = rng.uniform(size=len(part)) if discrete else np.ones(len(part))
        pit = np.clip(below + u * tie, 0.0, 1.0)
        threshold = pareto_k_threshold(ll.sizes["__sample__"])
        for i, (_, r) in enumerate(part.iterrows()):
            rows.append({"observation": r["observation"], "study_id": r["study_id"], "arm": r["arm"],
                         "timepoint": r["timepoint"], "kind": r["kind"], "n": r["n"], "observed": r["observed"],
                         "loo_pit": float(pit[i]), "randomised": discrete, "pareto_k": float(k[i]),
                         "pareto_k_threshold": threshold, "k_good": bool(k[i] <= threshold)})
    table = pd.DataFrame(rows)
    table.insert(0, "check", "loo_pit")
    return table


def _ecdf_counts(pit: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """ECDF counts of each row of ``pit`` (..., N) at ``grid`` (K,): (..., K)."""
    return (pit[..., :, None] <= grid).sum(axis=-2)


def _tail_table(n: int, grid: np.ndarray) -> np.ndarray:
    """Two-sided binomial tail probability of an ECDF count c at grid point j: (n + 1, K)."""
    from scipy import stats

    c = np.arange(n + 1)[:, None]
    lower = stats.binom.cdf(c, n, grid[None, :])
    upper = stats.binom.sf(c - 1, n, grid[None, :])
    return np.minimum(1.0, 2.0 * np.minimum(lower, upper))


def _statistic(counts: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Smallest pointwise tail probability over the grid (small = far from uniform)."""
    return table[counts, np.arange(table.shape[1])].min(axis=-1)


def pit_uniformity(pit, *, prob: float, seed: int, n_points: int = 100, n_sim: int = 10_000) -> dict:
    """Test PIT values for uniformity with a simultaneous ECDF band.

    The band is the ``prob``-level simultaneous band of Säilynoja, Bürkner and
    Vehtari (2022) for the ECDF of ``N`` Uniform(0, 1) values evaluated at
    ``n_points`` equally spaced points (ArviZ's ``ecdf_confidence_band``,
    method ``optimized``, the one ``az.plot_ecdf`` draws; grid as ArviZ's PIT
    plots). ``flagged`` is True when the PIT ECDF leaves the band anywhere.

    ``p_value`` grades the same statistic: the smallest pointwise two-sided
    binomial tail probability of the ECDF over the grid, referred to its
    distribution under uniformity (``n_sim`` simulated samples of ``N``
    uniforms, seeded). It suits small ``N`` (exact binomial pointwise
    probabilities, no asymptotics). Near the flag boundary the two can
    disagree by Monte Carlo error; the figure and ``flagged`` use the band.

    Returns a dict with ``n, n_points, prob, statistic, p_value, flagged``
    and the arrays ``grid, ecdf, band_lower, band_upper`` (for plotting).
    """
    from arviz.stats.ecdf_utils import ecdf_confidence_band

    pit = np.sort(np.asarray(pit, dtype=float))
    n = pit.size
    if n == 0:
        raise ValueError("no PIT values")
    grid = np.linspace(1.0 / n_points, 1.0, n_points)
    counts = _ecdf_counts(pit, grid)
    ecdf = counts / n
    with _without_numba():
        lower, upper = ecdf_confidence_band(n, grid, grid, prob=prob, method="optimized")
    eps = 1e-12
    flagged = bool(np.any(ecdf < lower - eps) | np.any(ecdf > upper + eps))
    tails = _tail_table(n, grid)
    statistic = float(_statistic(counts, tails))
    rng = np.random.default_rng(seed)
    sim = np.empty(n_sim)
    for start in range(0, n_sim, 1000):  # chunks keep memory small for large N
        u = np.sort(rng.uniform(size=(min(1000, n_sim - start), n)), axis=1)
        sim[start:start + len(u)] = _statistic(_ecdf_counts(u, grid), tails)
    p_value = float((1 + np.sum(sim <= statistic + 1e-12)) / (n_sim + 1))
    return {"n": n, "n_points": n_points, "prob": prob, "statistic": statistic, "p_value": p_value,
            "flagged": flagged, "grid": grid, "ecdf": ecdf, "band_lower": np.asarray(lower),
            "band_upper": np.asarray(upper)}


# ---- the one-file summary ------------------------------------------------------------------------------------
def summary_rows(table: pd.DataFrame, *, model: str, unit: str, prior_set: str, prob: float,
                 uniformity: dict | None = None) -> pd.DataFrame:
    """Rows of ``results/checks/predictive_checks.csv`` from one check's table.

    ``p_value`` is always the probability that a replicate exceeds the observed
    value (mid-p for counts): for LOO-PIT rows ``1 - loo_pit`` and
    ``statistic`` the LOO-PIT. A ``uniformity`` dict (from
    :func:`pit_uniformity`) adds one row, observation ``all``, with its own
    p-value and flag.
    """
    alpha = (1 - prob) / 2
    rule = f"flagged if p < {alpha:g} or p > {1 - alpha:g}"
    out = pd.DataFrame({"model": model, "unit": unit, "prior_set": prior_set, "check": table["check"],
                        "observation": table["observation"], "study_id": table["study_id"], "arm": table["arm"],
                        "timepoint": table["timepoint"], "kind": table["kind"], "observed": table["observed"]})
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
        row = {"model": model, "unit": unit, "prior_set": prior_set, "check": "loo_pit_uniformity",
               "observation": "all", "study_id": "", "arm": "", "timepoint": "", "kind": "all",
               "observed": np.nan, "statistic": uniformity["statistic"], "p_value": uniformity["p_value"],
               "flagged": uniformity["flagged"],
               "flag_rule": f"flagged if the PIT ECDF leaves the {prob * 100:g} % simultaneous band "
                            f"(N = {uniformity['n']}, {uniformity['n_points']} points)",
               "pareto_k": float(table["pareto_k"].max())}
        out = pd.concat([out, pd.DataFrame([row])], ignore_index=True)
    return out[SUMMARY_COLUMNS]


UNIFORMITY_COLUMNS = ["model", "unit", "prior_set", "n", "n_points", "prob", "statistic", "p_value", "flagged",
                      "n_pareto_k_bad", "pareto_k_max"]


def uniformity_row(uniformity: dict, table: pd.DataFrame, *, model: str, unit: str, prior_set: str) -> pd.DataFrame:
    """One-row table of :func:`pit_uniformity`'s result, with the Pareto-k summary of ``table``."""
    row = {"model": model, "unit": unit, "prior_set": prior_set,
           **{k: uniformity[k] for k in ("n", "n_points", "prob", "statistic", "p_value", "flagged")},
           "n_pareto_k_bad": int((~table["k_good"].astype(bool)).sum()), "pareto_k_max": float(table["pareto_k"].max())}
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


# ---- figures ----------------------------------------------------------------------------------------------
PRIOR_HOW_TO_READ = (
    "the top panels show the responder rates (and risk difference) the priors imply before any data: a prior "
    "that piles its mass near 0 % or 100 %, or rules out plausible rates, shows there. Below, each row is one "
    "observation: the blue bars are where the priors alone expect it (thin: central {pct}, thick: central 50 %, "
    "tick: median; counts shown as rates) and the diamond is what the study observed. p = P(replicate > observed) "
    "(+ half the ties for counts; Box 1980). A red diamond on a shaded row (p outside the central {pct}) means "
    "the prior conflicts with that observation.")
POSTERIOR_HOW_TO_READ = (
    "each row is one observation: the blue bars are where the fitted model expects a replicate of it (posterior "
    "predictive; thin: central {pct}, thick: central 50 %, tick: median; counts shown as rates) and the diamond "
    "is what the study observed. p = P(replicate > observed) (+ half the ties for counts). A red diamond on a "
    "shaded row (p outside the central {pct}) is an observation the model fails to reproduce. The observation "
    "also helped fit the model, so these p-values lean towards 0.5: a flag is a strong signal, no flag a weak one "
    "(LOO-PIT avoids this).")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _interval_panel(ax, labels, lower, q25, median, q75, upper, observed=None, flagged=None, notes=None,
                    xlabel="", xlim=None):
    y = np.arange(len(labels))[::-1]
    ax.hlines(y, lower, upper, color="tab:blue", lw=1.2, alpha=0.7)
    ax.hlines(y, q25, q75, color="tab:blue", lw=4, alpha=0.7)
    ax.plot(median, y, "|", color="tab:blue", ms=10)
    if observed is not None:
        flagged = np.zeros(len(labels), bool) if flagged is None else np.asarray(flagged, bool)
        ax.plot(np.asarray(observed)[~flagged], y[~flagged], "D", color="black", ms=6, zorder=3)
        ax.plot(np.asarray(observed)[flagged], y[flagged], "D", color="tab:red", ms=8, zorder=4)
        for yi, f in zip(y, flagged):
            if f:
                ax.axhspan(yi - 0.45, yi + 0.45, color="tab:red", alpha=0.08, lw=0)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    if xlim is not None:
        ax.set_xlim(*xlim)
    if notes is not None:
        for yi, note, f in zip(y, notes, flagged if flagged is not None else [False] * len(y)):
            ax.text(1.01, yi, note, transform=ax.get_yaxis_transform(), va="center", fontsize=7,
                    family="monospace", color="tab:red" if f else "black")
    ax.grid(axis="x", alpha=0.3)


def _observation_label(r) -> str:
    count = f"  {int(r['observed_count'])}/{int(r['n'])}" if r["kind"] == "responders" else ""
    return f"{r['study_id']} {r['arm']} {r['timepoint']}{count}"


def predictive_check_plot(table: pd.DataFrame, *, title: str, prob: float, rates: pd.DataFrame | None = None,
                          how_to_read: str, footer: str = ""):
    """Observed value over the replicated interval, one row per observation, one panel per scale.

    ``table`` from :func:`predictive_check`; ``rates`` (optional, from
    :func:`prior_rates`) adds panels for the prior-implied rates and risk
    difference. Flagged observations are red on a shaded row.
    """
    panels = []
    if rates is not None and len(rates):
        for kind, part in (("rates", rates[rates["quantity"] != "risk_difference"]),
                           ("risk_difference", rates[rates["quantity"] == "risk_difference"])):
            if len(part):
                panels.append((kind, part))
    for kind in ("responders", "contrast", "pain"):
        part = table[table["kind"] == kind]
        if len(part):
            panels.append((kind, part))
    plt = _pyplot()
    heights = [0.3 * (max(len(p), 1) + 0.8) for _, p in panels]  # axes heights, inches
    gap, top, bottom = 0.85, 0.95, 1.25  # inches: between panels (axis label + title), above, below
    fig_h = top + bottom + sum(heights) + gap * (len(panels) - 1)
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, fig_h), squeeze=False,
                             gridspec_kw={"height_ratios": heights, "hspace": gap / np.mean(heights)})
    pct = f"{prob * 100:g} %"
    for ax, (kind, part) in zip(axes[:, 0], panels):
        if kind in ("rates", "risk_difference"):
            labels = [f"{q.replace('_', ' ')} ({tp})" for q, tp in zip(part["quantity"], part["timepoint"])]
            notes = [f"{m:.2f} [{lo:.2f}, {hi:.2f}]" for m, lo, hi in
                     zip(part["median"], part["lower"], part["upper"])]
            _interval_panel(ax, labels, part["lower"], part["q25"], part["median"], part["q75"], part["upper"],
                            notes=notes, xlim=(0, 1) if kind == "rates" else (-1, 1),
                            xlabel=("prior rate" if kind == "rates" else "prior risk difference (ketamine - placebo)"))
            ax.set_title("what the priors imply (no data)" if kind == "rates" else "", fontsize=9, loc="left")
            continue
        labels = [_observation_label(r) for _, r in part.iterrows()]
        notes = [f"obs {o:.2f}  p = {p:.3f}" for o, p in zip(part["observed"], part["p_value"])]
        _interval_panel(ax, labels, part["rep_lower"], part["rep_q25"], part["rep_median"], part["rep_q75"],
                        part["rep_upper"], observed=part["observed"], flagged=part["flagged"], notes=notes,
                        xlabel=SCALES[kind], xlim=(-0.02, 1.02) if kind == "responders" else None)
        ax.set_title(f"{kind}: observed vs replicated", fontsize=9, loc="left")
    handles = [plt.Line2D([], [], color="tab:blue", lw=1.2, label=f"replicated, central {pct}"),
               plt.Line2D([], [], color="tab:blue", lw=4, label="replicated, central 50 %"),
               plt.Line2D([], [], color="black", marker="D", ls="", label="observed"),
               plt.Line2D([], [], color="tab:red", marker="D", ls="",
                          label=f"observed, flagged (outside central {pct})")]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.55 / fig_h), ncol=4, fontsize=7,
               frameon=False)
    fig.suptitle(title, fontsize=10, y=1 - 0.12 / fig_h, va="top")
    fig.text(0.01, 0.01, f"How to read: {how_to_read}\n{footer}".rstrip(), fontsize=7, va="bottom", wrap=True)
    fig.subplots_adjust(left=0.3, right=0.76, top=1 - top / fig_h, bottom=bottom / fig_h)
    return fig


def loo_pit_plot(table: pd.DataFrame, uniformity: dict, *, title: str, footer: str = ""):
    """PIT ECDF difference with its simultaneous band (left) and the PIT of each observation (right)."""
    import arviz as az
    from scipy.stats import uniform

    plt = _pyplot()
    table = table.reset_index(drop=True)
    prob = uniformity["prob"]
    pct = f"{prob * 100:g} %"
    k = len(table)
    fig_h = max(4.8, 2.4 + 0.28 * k)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, fig_h), gridspec_kw={"width_ratios": [1, 1]})
    with warnings.catch_warnings(), _without_numba():
        warnings.simplefilter("ignore")
        az.plot_ecdf(np.array(table["loo_pit"], dtype=float), eval_points=uniformity["grid"], cdf=uniform(0, 1).cdf,
                     difference=True, confidence_bands="optimized", ci_prob=prob, ax=ax,
                     plot_kwargs={"color": "tab:red" if uniformity["flagged"] else "black"},
                     fill_kwargs={"color": "tab:blue", "alpha": 0.2})
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xlabel("LOO-PIT value", fontsize=8)
    ax.set_ylabel("ECDF - uniform CDF", fontsize=8)
    verdict = "leaves the band: miscalibrated" if uniformity["flagged"] else "inside the band"
    ax.set_title(f"ECDF difference, {pct} simultaneous band; {verdict}\n"
                 f"uniformity p = {uniformity['p_value']:.3f} (N = {uniformity['n']})", fontsize=8)
    y = np.arange(k)[::-1]
    colors = {"responders": "tab:blue", "contrast": "tab:green", "pain": "tab:purple"}
    alpha = (1 - prob) / 2
    for kind, part in table.groupby("kind", sort=False):
        yy = y[part.index.to_numpy()]
        good = part["k_good"].to_numpy()
        ax2.plot(part["loo_pit"].to_numpy()[good], yy[good], "o", color=colors.get(kind, "black"), label=kind)
        ax2.plot(part["loo_pit"].to_numpy()[~good], yy[~good], "o", mfc="none", color=colors.get(kind, "black"),
                 label=f"{kind}, Pareto k too high" if (~good).any() else None)
    ax2.axvspan(0, alpha, color="tab:red", alpha=0.08)
    ax2.axvspan(1 - alpha, 1, color="tab:red", alpha=0.08)
    ax2.set_xlim(-0.02, 1.02)
    ax2.set_ylim(-0.6, k - 0.4)
    ax2.set_yticks(y)
    ax2.set_yticklabels([f"{r.study_id} {r.arm} {r.timepoint}" for r in table.itertuples()], fontsize=7)
    for yi, r in zip(y, table.itertuples()):
        ax2.text(1.01, yi, f"k = {r.pareto_k:.2f}", transform=ax2.get_yaxis_transform(), fontsize=7, va="center",
                 color="black" if r.k_good else "tab:red")
    ax2.set_xlabel("LOO-PIT of each observation (shaded: outside the central " + pct + ")", fontsize=8)
    ax2.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
    fig.suptitle(title, fontsize=10)
    how = ("How to read: each LOO-PIT is where an observation falls in the model's prediction for it when it is "
           "left out (randomised for counts). If the model is calibrated the PITs are uniform and the line (black; "
           f"red once it leaves the band) stays inside the blue band ({pct} simultaneous, Säilynoja et al. 2022). "
           "Line above 0 on the left and below 0 on the right = PITs in both tails: predictions too narrow (e.g. "
           "heterogeneity underestimated); the reverse = predictions too wide; above 0 throughout = observations "
           "lower than predicted, below 0 = higher. With few observations the test has little power. Open circles "
           "and red k: Pareto k above the threshold, that PIT is unreliable (leaving the observation out changes "
           "the posterior too much for importance sampling).")
    fig.text(0.01, 0.01, f"{how}\n{footer}".rstrip(), fontsize=7, va="bottom", wrap=True)
    fig.subplots_adjust(left=0.06, right=0.93, wspace=0.75, top=1 - 1.0 / fig_h, bottom=1.35 / fig_h)
    return fig
