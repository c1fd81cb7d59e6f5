r"""Simulation-based validation of the models: coverage, bias and SBC.

Each replicate of a validation scenario draws its known parameters from the
prior of the fitted model, simulates a data set of the scenario's design from
them (:mod:`crpsmeta.simulate`), and is fitted like the real data. When the
truth is a prior draw and the fit is correct, then for every parameter and
any design (Cook, Gelman, Rubin 2006; Talts et al. 2018; Modrák et al. 2023):

* the central ``prob`` posterior interval covers the truth with probability
  exactly ``prob``, so over ``R`` replicates the number of covering intervals
  is Binomial(R, prob): :func:`tolerance_region` gives the counts a correct
  implementation produces, at a chosen false-alarm level;
* the rank of the truth among ``L`` (thinned, nearly independent) posterior
  draws is uniform on ``0..L``: :func:`uniformity_test` (chi-square on equal
  bins) and :func:`sbc_plot` (ECDF difference with a simultaneous band);
* the posterior mean minus the truth averages to 0 (:func:`bias_table`).

The false-alarm level of the whole check is split over all its checks
(coverage and uniformity, every scenario x parameter) by Bonferroni.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from .simulate import simulate_placebo_adjusted, simulate_pooled_rate
from .vocabulary import TIMEPOINTS

__all__ = ["DEFINITION_CLASSES", "PARAMETERS", "ValidationFailed", "draw_prior", "draw_truth", "check_design",
           "simulate_replicate", "parameter_draws", "thin", "sbc_rank", "score_replicate", "tolerance_region",
           "effective_bins", "uniformity_test", "validation_tables", "bias_table", "failures", "verdict",
           "fit_failures", "report_text", "sbc_plot", "coverage_plot", "ecdf_band"]

# the responder-definition classes of .vocabulary in the order non-reference ones
# are given to simulated single-arm series (the order fixes the simulated data)
DEFINITION_CLASSES = ("complete_relief", "pain_free", "full_remission", "ge2point_or_success", "meaningful",
                      "any_relief", "ge50pct", "ge30pct")

# the parameters each model's validation scores (scalars; "name[label,...]" picks
# an element along the variable's dims in order)
PARAMETERS = {
    "pooled_rate": ("mu", "tau", "pooled_rate", "theta[Sim0001]"),
    "placebo_adjusted": ("placebo_mu[immediate]", "placebo_mu[followup]", "effect_mu", "persistence", "tau",
                         "tau_placebo", "rho", "design_bias", "pain_threshold", "risk_difference[immediate]",
                         "risk_difference[followup]"),
}
_TIMEPOINTS = TIMEPOINTS


class ValidationFailed(RuntimeError):
    """The validation target found coverage or ranks a correct implementation would rarely give."""


# ---- known truths and simulated data ----------------------------------------------

def draw_prior(spec: Mapping, rng: np.random.Generator, size: int | None = None):
    """Draws from a prior given as a config mapping (``{"family": "normal", "mean": 0, "sd": 1.5}``).

    Written with NumPy, independently of :mod:`crpsmeta.priors` (which builds
    the PyMC variables), so a wrong prior in the model would show as miscalibration.
    """
    p = {k: float(v) for k, v in spec.items() if k != "family"}
    family = spec["family"]
    if family == "normal":
        return rng.normal(p["mean"], p["sd"], size)
    if family == "robust_normal":
        informative = rng.random(size) < p["weight"]
        return np.where(informative, rng.normal(p["mean"], p["sd"], size),
                        rng.normal(p["vague_mean"], p["vague_sd"], size))
    if family == "half_normal":
        return np.abs(rng.normal(0.0, p["scale"], size))
    if family == "half_cauchy":
        return np.abs(p["scale"] * rng.standard_cauchy(size))
    if family == "lognormal":
        return rng.lognormal(p["meanlog"], p["sdlog"], size)
    if family == "beta":
        return rng.beta(p["alpha"], p["beta"], size)
    raise ValueError(f"unknown prior family {family!r}")


def _definitions(n: int, reference_definition: str) -> list[str]:
    others = [c for c in DEFINITION_CLASSES if c != reference_definition]
    if n > len(others):
        raise ValueError(f"at most {len(others)} non-reference responder definitions can be simulated")
    return others[:n]


def draw_truth(model: str, priors: Mapping, rng: np.random.Generator, *, definitions: Sequence[str] = ()) -> dict:
    """One draw of a model's parameters from its prior block (config ``prior_sets.<set>.<model>``)."""
    if model == "pooled_rate":
        return {"mu": float(draw_prior(priors["mu"], rng)), "tau": float(draw_prior(priors["tau"], rng))}
    if model == "placebo_adjusted":
        truth = {"placebo_mu": [float(x) for x in draw_prior(priors["placebo_mu"], rng, 2)]}
        for name in ("effect_mu", "persistence", "tau", "tau_placebo", "rho", "design_bias", "pain_threshold"):
            truth[name] = float(draw_prior(priors[name], rng))
        sd = float(priors["definition_offset_sd"])
        truth["definition_offset"] = {c: float(sd * rng.standard_normal()) for c in definitions}
        return truth
    raise ValueError(f"validation simulates pooled_rate or placebo_adjusted, not {model!r}")


def check_design(model: str, design: Mapping) -> None:
    """Refuse a scenario that cannot be simulated, saying why (ValueError)."""
    if design["n_min"] < 1 or design["n_max"] < design["n_min"]:
        raise ValueError(f"need 1 <= n_min <= n_max, got {design['n_min']} and {design['n_max']}")
    if model == "pooled_rate":
        extra = [k for k in ("rct", "rct_contrast", "single_arm_pain", "definitions") if design.get(k, 0)]
        if extra:
            raise ValueError(f"a pooled_rate scenario has single-arm series only; remove {', '.join(extra)}")
        if design["single_arm"] < 1:
            raise ValueError("a pooled_rate scenario needs single_arm >= 1")
    elif design["rct"] + design["rct_contrast"] + design["single_arm"] < 1:
        raise ValueError("a placebo_adjusted scenario needs at least one study")
    elif design["single_arm_pain"] > design["single_arm"]:
        raise ValueError("single_arm_pain counts single-arm series and cannot exceed single_arm")


def simulate_replicate(model: str, design: Mapping, priors: Mapping, seed: int, *,
                       reference_definition: str = "ge30pct") -> tuple[pd.DataFrame, dict, dict]:
    """One replicate: parameters drawn from ``priors``, data of ``design`` drawn from them.

    ``design`` is a validation scenario (config ``validation.scenarios.<name>``).
    Returns ``(used, truth, raw)``: the rows the fit reads (the columns of
    ``results/data/<model>/<unit>/used.csv``), the true value of each scored
    parameter (:data:`PARAMETERS`), and the raw parameter draw.
    """
    check_design(model, design)
    rng = np.random.default_rng(seed)
    if model == "pooled_rate":
        raw = draw_truth(model, priors, rng)
        sim = simulate_pooled_rate(int(design["single_arm"]), raw["mu"], raw["tau"], rng,
                                   n_low=int(design["n_min"]), n_high=int(design["n_max"]))
        used = sim[["study_id", "n", "responders"]].assign(arm="ketamine", definition_class=reference_definition)
        truth = {"mu": raw["mu"], "tau": raw["tau"], "pooled_rate": float(expit(raw["mu"])),
                 "theta[Sim0001]": float(sim["theta"].iloc[0])}
        return used, truth, raw
    definitions = _definitions(int(design["definitions"]), reference_definition)
    raw = draw_truth(model, priors, rng, definitions=definitions)
    n_rct = int(design["rct_contrast"]) + int(design["rct"])
    arms, other = simulate_placebo_adjusted(
        raw, rng, n_rct=n_rct, n_single=int(design["single_arm"]), n_contrast=int(design["rct_contrast"]),
        n_pain=int(design["single_arm_pain"]), missing=float(design["missing"]), missing_rct=0.0,
        n_low=int(design["n_min"]), n_high=int(design["n_max"]), rct_n=int(design["rct_arm_n"]),
        contrast_se=float(design["contrast_se"]), pain_se=float(design["pain_se"]),
        single_definitions=[reference_definition, *definitions], reference_definition=reference_definition)
    used = pd.concat([arms.assign(kind="responders"), other], ignore_index=True)
    effect = np.array([raw["effect_mu"], raw["persistence"] * raw["effect_mu"]])
    truth = {f"placebo_mu[{t}]": raw["placebo_mu"][i] for i, t in enumerate(_TIMEPOINTS)}
    truth.update({k: raw[k] for k in ("effect_mu", "persistence", "tau", "tau_placebo", "rho", "design_bias",
                                      "pain_threshold")})
    for i, t in enumerate(_TIMEPOINTS):
        truth[f"risk_difference[{t}]"] = float(expit(raw["placebo_mu"][i] + effect[i]) - expit(raw["placebo_mu"][i]))
    return used, truth, raw


# ---- one replicate's posterior against its truth -----------------------------------

_NAME = re.compile(r"^(?P<var>[A-Za-z0-9_]+)(\[(?P<labels>[^\]]+)\])?$")


def parameter_draws(posterior, name: str) -> np.ndarray:
    """Draws of the scalar ``name`` (``var`` or ``var[label,...]``), chains concatenated in order."""
    match = _NAME.match(name)
    if not match:
        raise ValueError(f"bad parameter name {name!r}")
    da = posterior[match["var"]]
    dims = [d for d in da.dims if d not in ("chain", "draw")]
    labels = match["labels"].split(",") if match["labels"] else []
    if len(labels) != len(dims):
        raise ValueError(f"{name!r}: {match['var']} has dims {dims}, got {len(labels)} labels")
    da = da.sel(dict(zip(dims, labels)))
    return np.asarray(da.transpose("chain", "draw").values, dtype=float).reshape(-1)


def thin(draws: np.ndarray, size: int) -> np.ndarray:
    """``size`` draws evenly spaced over all of them (thinning against autocorrelation)."""
    draws = np.asarray(draws)
    if size > draws.size:
        raise ValueError(f"cannot thin {draws.size} draws to {size}: sample more or lower validation.sbc_draws")
    return draws[np.linspace(0, draws.size - 1, size).round().astype(int)]


def sbc_rank(draws: np.ndarray, truth: float, size: int) -> int:
    """Rank of the truth among ``size`` thinned draws: the number of draws below it (0..size)."""
    return int(np.sum(thin(draws, size) < truth))


def score_replicate(posterior, truth: Mapping[str, float], *, prob: float, sbc_draws: int) -> pd.DataFrame:
    """Per parameter: truth, posterior mean/SD, central ``prob`` interval, covered, SBC rank."""
    rows = []
    q = (1 - prob) / 2
    for name, value in truth.items():
        draws = parameter_draws(posterior, name)
        lower, upper = np.quantile(draws, [q, 1 - q])
        rows.append({"parameter": name, "truth": float(value), "mean": float(draws.mean()),
                     "sd": float(draws.std(ddof=1)), "lower": float(lower), "upper": float(upper),
                     "covered": bool(lower <= value <= upper), "rank": sbc_rank(draws, value, sbc_draws),
                     "sbc_draws": int(sbc_draws)})
    return pd.DataFrame(rows)


# ---- tests over replicates ----------------------------------------------------------

def tolerance_region(replications: int, prob: float, alpha: float) -> tuple[int, int]:
    """Counts of covering intervals a calibrated model gives with probability >= 1 - alpha.

    Two-sided: ``[lo, hi]`` with P(X < lo) <= alpha/2 and P(X > hi) <= alpha/2
    for X ~ Binomial(replications, prob).
    """
    if replications < 1:
        raise ValueError("need at least one replication")
    lo = int(stats.binom.ppf(alpha / 2, replications, prob))
    hi = int(stats.binom.isf(alpha / 2, replications, prob))
    return lo, min(hi, replications)


def effective_bins(replications: int, sbc_draws: int, bins: int) -> int:
    """Bins for the uniformity test: the most, up to ``bins``, that divide the ``sbc_draws + 1``
    rank values evenly and expect at least one rank each (at least 2 bins).

    With few replications the Monte Carlo p-value of :func:`uniformity_test`
    keeps the test exact, and more bins keep its power against ranks piling
    up at one end (the signature of a misspecified or biased fit).
    """
    divisors = [d for d in range(2, bins + 1) if (sbc_draws + 1) % d == 0]
    good = [d for d in divisors if d <= replications]
    return max(good) if good else (min(divisors) if divisors else 2)


def uniformity_test(ranks: Sequence[int], sbc_draws: int, bins: int, *, seed: int = 0,
                    simulations: int = 100_000) -> dict:
    """Chi-square test that ranks are uniform on ``0..sbc_draws``, on ``bins`` equal bins.

    ``bins`` should divide ``sbc_draws + 1`` (see :func:`effective_bins`).
    The p-value is the chi-square approximation when at least 5 ranks are
    expected per bin, else a Monte Carlo p-value from ``simulations``
    multinomial draws (seeded, so reproducible).
    """
    ranks = np.asarray(ranks, dtype=int)
    if np.any(ranks < 0) or np.any(ranks > sbc_draws):
        raise ValueError(f"ranks must lie in 0..{sbc_draws}")
    r = ranks.size
    counts = np.bincount(ranks * bins // (sbc_draws + 1), minlength=bins)
    expected = r / bins
    statistic = float(((counts - expected) ** 2 / expected).sum())
    if expected >= 5:
        p_value, method = float(stats.chi2.sf(statistic, bins - 1)), "chi-square"
    else:
        sims = np.random.default_rng(seed).multinomial(r, np.full(bins, 1 / bins), size=simulations)
        null = ((sims - expected) ** 2 / expected).sum(axis=1)
        p_value, method = float((1 + np.sum(null >= statistic - 1e-9)) / (simulations + 1)), "monte-carlo"
    return {"bins": int(bins), "statistic": statistic, "df": int(bins - 1), "p_value": p_value, "method": method,
            "counts": " ".join(str(int(c)) for c in counts)}


def bias_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Per scenario x parameter: mean bias of the posterior mean (with its Monte Carlo SE), RMSE,
    mean interval width and mean posterior SD."""
    rows = []
    for (scenario, model, parameter), g in scores.groupby(["scenario", "model", "parameter"], sort=False):
        err = g["mean"] - g["truth"]
        rows.append({"scenario": scenario, "model": model, "parameter": parameter, "replications": len(g),
                     "mean_bias": float(err.mean()),
                     "bias_mcse": float(err.std(ddof=1) / np.sqrt(len(g))) if len(g) > 1 else float("nan"),
                     "rmse": float(np.sqrt((err ** 2).mean())), "mean_width": float((g["upper"] - g["lower"]).mean()),
                     "mean_posterior_sd": float(g["sd"].mean()), "truth_sd": float(g["truth"].std(ddof=1))
                     if len(g) > 1 else float("nan")})
    return pd.DataFrame(rows)


def validation_tables(scores: pd.DataFrame, *, prob: float, level: float, bins: int
                      ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Coverage, SBC uniformity and bias tables from the scores of every replicate.

    ``scores`` has one row per scenario x replicate x parameter (columns of
    :func:`score_replicate` plus ``scenario, model, replicate``). Each
    coverage count and each uniformity test is one check; the family-wise
    false-alarm ``level`` is split equally over all of them (Bonferroni), so
    a correct implementation fails the whole target with probability <= level.
    """
    groups = list(scores.groupby(["scenario", "model", "parameter"], sort=False))
    n_checks = 2 * len(groups)
    per_check = level / n_checks
    coverage, uniformity = [], []
    for (scenario, model, parameter), g in groups:
        r = len(g)
        covered = int(g["covered"].sum())
        lo, hi = tolerance_region(r, prob, per_check)
        coverage.append({"scenario": scenario, "model": model, "parameter": parameter, "replications": r,
                         "covered": covered, "coverage": covered / r, "nominal": prob, "tolerance_lower": lo,
                         "tolerance_upper": hi, "check_level": per_check, "checks": n_checks,
                         "within_tolerance": bool(lo <= covered <= hi)})
        sbc_draws = int(g["sbc_draws"].iloc[0])
        b = effective_bins(r, sbc_draws, bins)
        test = uniformity_test(g["rank"].to_numpy(), sbc_draws, b)
        uniformity.append({"scenario": scenario, "model": model, "parameter": parameter, "replications": r,
                           "sbc_draws": sbc_draws, **test, "check_level": per_check, "checks": n_checks,
                           "rejected": bool(test["p_value"] < per_check)})
    return pd.DataFrame(coverage), pd.DataFrame(uniformity), bias_table(scores)


def failures(coverage: pd.DataFrame, uniformity: pd.DataFrame) -> list[str]:
    """One message per failed check, naming scenario, parameter, the value and its tolerance."""
    out = []
    for r in coverage[~coverage["within_tolerance"].astype(bool)].itertuples():
        out.append(f"scenario {r.scenario}, parameter {r.parameter}: {r.nominal:.0%} interval coverage "
                   f"{r.covered}/{r.replications} = {r.coverage:.2f}, outside the binomial tolerance "
                   f"[{r.tolerance_lower}, {r.tolerance_upper}] of {r.replications} replications "
                   f"(per-check level {r.check_level:.2g} = level / {r.checks} checks, Bonferroni)")
    for r in uniformity[uniformity["rejected"].astype(bool)].itertuples():
        out.append(f"scenario {r.scenario}, parameter {r.parameter}: SBC ranks not uniform, chi-square "
                   f"{r.statistic:.1f} on {r.df} df ({r.method}), p = {r.p_value:.2g} < {r.check_level:.2g} "
                   f"(bin counts {r.counts})")
    return out



def verdict(coverage: pd.DataFrame, uniformity: pd.DataFrame) -> str:
    """A one-paragraph pass summary, or :class:`ValidationFailed` listing every failed check."""
    failed = failures(coverage, uniformity)
    checks = len(coverage) + len(uniformity)
    if failed:
        raise ValidationFailed(f"validation FAILED {len(failed)} of {checks} checks:\n  " + "\n  ".join(failed))
    worst = coverage.loc[coverage["coverage"].idxmin()]
    return (f"validation PASSED all {checks} checks ({coverage['scenario'].nunique()} scenarios, "
            f"{len(coverage)} scenario x parameter coverage counts and as many SBC uniformity tests, each at "
            f"level {coverage['check_level'].iloc[0]:.2g}). Lowest coverage: {worst['scenario']} "
            f"{worst['parameter']} {worst['covered']}/{worst['replications']}; smallest SBC p-value "
            f"{uniformity['p_value'].min():.2g}.")

def fit_failures(diagnostics: pd.DataFrame) -> pd.DataFrame:
    """Per scenario: fits, fits failing any convergence diagnostic, and which diagnostics failed.

    ``diagnostics`` stacks the fits' diagnostics tables with ``scenario`` and
    ``replicate`` columns. Failed fits stay in the coverage and SBC tables
    (dropping them would condition on the data and bias both).
    """
    rows = []
    for scenario, g in diagnostics.groupby("scenario", sort=False):
        failed = g[~g["passed"].astype(bool)]
        rows.append({"scenario": scenario, "fits": g["replicate"].nunique(),
                     "failed_fits": failed["replicate"].nunique(),
                     "failed_replicates": " ".join(str(x) for x in sorted(failed["replicate"].unique())),
                     "failed_diagnostics": "; ".join(f"{k} x{v}" for k, v in
                                                     failed["diagnostic"].value_counts().items())})
    return pd.DataFrame(rows, columns=["scenario", "fits", "failed_fits", "failed_replicates",
                                       "failed_diagnostics"])



def _markdown(frame: pd.DataFrame) -> str:
    cells = [[f"{v:.3g}" if isinstance(v, float) else str(v) for v in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def report_text(coverage: pd.DataFrame, uniformity: pd.DataFrame, bias: pd.DataFrame, fit_failed: pd.DataFrame,
                settings: Mapping) -> str:
    """The validation report (Markdown): settings, verdict, then one table per scenario."""
    try:
        outcome = verdict(coverage, uniformity)
    except ValidationFailed as exc:
        outcome = str(exc)
    sampler = settings.get("sampler", {})
    lines = [
        "# Validation: known truth, coverage and simulation-based calibration", "",
        f"Truths drawn from prior set `{settings.get('simulate_prior_set')}`; fitted with prior set "
        f"`{settings.get('fit_prior_set')}`"
        + (" (**misspecified on purpose**)." if settings.get("simulate_prior_set") != settings.get("fit_prior_set")
           else "."),
        f"Replications per scenario: {int(coverage['replications'].max())}. Sampler: {sampler.get('backend')}, "
        f"{sampler.get('chains')} chains x {sampler.get('draws')} draws (tune {sampler.get('tune')}, target_accept "
        f"{sampler.get('target_accept')}). SBC ranks among {int(uniformity['sbc_draws'].iloc[0])} thinned draws.",
        f"Each of the {int(coverage['checks'].iloc[0])} checks (a coverage count and an SBC uniformity test per "
        f"scenario x parameter) is made at level {settings.get('level')} / {int(coverage['checks'].iloc[0])} = "
        f"{coverage['check_level'].iloc[0]:.2g} (Bonferroni), so a correct implementation fails the target with "
        f"probability at most {settings.get('level')}.", "",
        "**" + outcome.split("\n")[0] + "**", "", *("- " + line.strip() for line in outcome.split("\n")[1:]), "",
        "Fits failing a convergence diagnostic (kept in every table; see fit_failures.csv):", "",
        _markdown(fit_failed), ""]
    for scenario in dict.fromkeys(coverage["scenario"]):
        table = (coverage[coverage["scenario"] == scenario][["parameter", "covered", "replications", "coverage",
                                                             "tolerance_lower", "tolerance_upper"]]
                 .merge(uniformity[uniformity["scenario"] == scenario][["parameter", "p_value"]], on="parameter")
                 .merge(bias[bias["scenario"] == scenario][["parameter", "mean_bias", "bias_mcse", "rmse",
                                                           "mean_width"]], on="parameter")
                 .rename(columns={"p_value": "sbc_p"}))
        lines += [f"## {scenario} ({coverage[coverage['scenario'] == scenario]['model'].iloc[0]})", "",
                  _markdown(table), ""]
    return "\n".join(lines)

# ---- figures ----------------------------------------------------------------------

def ecdf_band(replications: int, sbc_draws: int, *, prob: float = 0.95, points: int | None = None,
              simulations: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simultaneous ``prob`` band for the ECDF difference of ``replications`` uniform ranks.

    Säilynoja, Bürkner, Vehtari 2022 (simulation method): the pointwise level
    is lowered until ``prob`` of simulated uniform ECDFs stay inside everywhere.
    Returns (z, lower, upper) with z the fractional rank and the band on
    ECDF(z) - z.
    """
    k = points or min(sbc_draws + 1, 50)
    z = np.arange(1, k + 1) / k
    rng = np.random.default_rng(seed)
    u = (rng.integers(0, sbc_draws + 1, size=(simulations, replications)) + rng.random((simulations, replications))
         ) / (sbc_draws + 1)
    ecdf = (u[:, :, None] <= z[None, None, :]).sum(axis=1)
    cdf = stats.binom.cdf(ecdf, replications, z)
    cdf_below = stats.binom.cdf(ecdf - 1, replications, z)
    tail = np.minimum(cdf, 1 - cdf_below)
    gamma = float(np.quantile(2 * tail.min(axis=1), 1 - prob))
    lower = stats.binom.ppf(gamma / 2, replications, z) / replications - z
    upper = stats.binom.ppf(1 - gamma / 2, replications, z) / replications - z
    return z, lower, upper


def sbc_plot(ranks: pd.DataFrame, uniformity: pd.DataFrame, *, prob_band: float = 0.95):
    """Grid of ECDF-difference plots of SBC ranks: one row per scenario, one panel per parameter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(dict.fromkeys(ranks["scenario"]))
    ncols = max(ranks.groupby("scenario")["parameter"].nunique())
    height = 1.9 * len(scenarios) + 1.2
    fig, axes = plt.subplots(len(scenarios), ncols, figsize=(max(1.9 * ncols + 0.8, 9.0), height), squeeze=False,
                             sharex=True)
    verdict = uniformity.set_index(["scenario", "parameter"])
    for i, scenario in enumerate(scenarios):
        sub = ranks[ranks["scenario"] == scenario]
        params = list(dict.fromkeys(sub["parameter"]))
        for j in range(ncols):
            ax = axes[i, j]
            if j >= len(params):
                ax.axis("off")
                continue
            g = sub[sub["parameter"] == params[j]]
            L, r = int(g["sbc_draws"].iloc[0]), len(g)
            z, lo, hi = ecdf_band(r, L, prob=prob_band)
            ax.fill_between(z, lo, hi, color="0.85", step="post", lw=0)
            frac = (np.sort(g["rank"].to_numpy()) + 0.5) / (L + 1)
            ecdf = np.searchsorted(frac, z, side="right") / r
            bad = bool(verdict.loc[(scenario, params[j]), "rejected"])
            ax.step(z, ecdf - z, where="post", color="tab:red" if bad else "tab:blue", lw=1.2)
            ax.axhline(0, color="0.4", lw=0.6)
            p = verdict.loc[(scenario, params[j]), "p_value"]
            ax.set_title(f"{params[j]}\np = {p:.2g}" + ("  REJECTED" if bad else ""), fontsize=7,
                         color="tab:red" if bad else "black")
            ax.tick_params(labelsize=6)
            if j == 0:
                ax.set_ylabel(f"{scenario}\nECDF - uniform", fontsize=7)
            if i == len(scenarios) - 1:
                ax.set_xlabel("fractional rank", fontsize=7)
    fig.suptitle("Simulation-based calibration: ranks of the true value among posterior draws", fontsize=10)
    fig.text(0.01, 0.005, "How to read: each panel is one parameter in one scenario. The line is the empirical CDF "
             "of the ranks of the true values among thinned posterior draws, minus the uniform CDF. For a correct "
             "model and sampler the ranks are uniform and the line stays near 0, inside the grey band (where "
             f"{prob_band:.0%} of uniform samples of this size stay everywhere). An arch above 0 = the truth ranks "
             "low too often (the posterior sits too high); an arch below 0 = too low; above then below = "
             "posteriors too narrow (overconfident); below then above = too wide. Red = the chi-square "
             "uniformity test rejected (p below the Bonferroni per-check level).", fontsize=7, va="bottom",
             wrap=True)
    fig.tight_layout(rect=(0, 0.75 / height, 1, 1 - 0.35 / height))
    return fig


def coverage_plot(coverage: pd.DataFrame):
    """Coverage of the central intervals per scenario x parameter, with its binomial tolerance region."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(dict.fromkeys(coverage["scenario"]))
    height = 0.32 * len(coverage) + 0.6 * len(scenarios) + 2.2
    fig, axes = plt.subplots(len(scenarios), 1, figsize=(8.5, height), squeeze=False,
                             gridspec_kw={"height_ratios": [max(1, (coverage["scenario"] == s).sum())
                                                            for s in scenarios]})
    nominal = float(coverage["nominal"].iloc[0])
    for ax, scenario in zip(axes[:, 0], scenarios):
        sub = coverage[coverage["scenario"] == scenario].reset_index(drop=True)
        y = np.arange(len(sub))[::-1]
        ax.barh(y, (sub["tolerance_upper"] - sub["tolerance_lower"]) / sub["replications"],
                left=sub["tolerance_lower"] / sub["replications"], color="0.85", height=0.6,
                label="tolerance region")
        ok = sub["within_tolerance"].astype(bool).to_numpy()
        ax.scatter(sub["coverage"][ok], y[ok], color="tab:blue", zorder=3, s=18, label="within tolerance")
        ax.scatter(sub["coverage"][~ok], y[~ok], color="tab:red", zorder=3, s=24, marker="x", label="outside")
        ax.axvline(nominal, color="0.3", lw=0.8, ls="--")
        ax.set_yticks(y, [f"{p}  ({c}/{r})" for p, c, r in zip(sub["parameter"], sub["covered"],
                                                                 sub["replications"])], fontsize=7)
        ax.set_xlim(min(0.5, float(sub["coverage"].min()) - 0.05), 1.01)
        ax.set_title(f"{scenario} ({sub['model'].iloc[0]}, {int(sub['replications'].max())} replications)",
                     fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=7)
    axes[0, 0].legend(fontsize=7, loc="lower left")
    axes[-1, 0].set_xlabel(f"share of replicates whose central {nominal:.0%} interval covers the true value",
                           fontsize=8)
    fig.suptitle("Coverage of posterior intervals on data simulated with known parameters", fontsize=10)
    fig.text(0.01, 0.005, f"How to read: each dot is the share of replicates whose {nominal:.0%} interval "
             "contained the value the data were simulated from (truths drawn from the prior). For a correct "
             f"model and sampler this share is {nominal:.0%} up to chance; the grey bar is the range chance gives "
             "(binomial tolerance region at the Bonferroni per-check level). A red cross outside its bar fails "
             "the validation target: intervals too narrow (left) or too wide (right).", fontsize=7, va="bottom",
             wrap=True)
    fig.tight_layout(rect=(0, 0.9 / height, 1, 1 - 0.3 / height))
    return fig
