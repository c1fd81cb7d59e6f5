r"""Scoring the validation target's fits: coverage, SBC ranks and their uniformity, bias, and the verdict.

Each replicate of a validation scenario draws its known parameters from the
prior of the fitted model, simulates a data set of the scenario's design from
them (:mod:`crpsmeta.calibration.simulate`), and is fitted like the real data. When the
truth is a prior draw and the fit is correct, then for every parameter and
any design (Cook, Gelman, Rubin 2006; Talts et al. 2018; Modrák et al. 2023):

* the central ``prob`` posterior interval covers the truth with probability
  exactly ``prob``, so over ``R`` replicates the number of covering intervals
  is Binomial(R, prob): :func:`tolerance_region` gives the counts a correct
  implementation produces, at a chosen false-alarm level;
* the rank of the truth among ``L`` (thinned, nearly independent) posterior
  draws is uniform on ``0..L``: :func:`uniformity_test` (chi-square on equal
  bins) and :func:`crpsmeta.figures.calibration.sbc_plot` (ECDF difference with a simultaneous band);
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


class ValidationFailed(RuntimeError):
    """The validation target found coverage or ranks a correct implementation would rarely give."""


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
        rows.append(
            {
                "parameter": name,
                "truth": float(value),
                "mean": float(draws.mean()),
                "sd": float(draws.std(ddof=1)),
                "lower": float(lower),
                "upper": float(upper),
                "covered": bool(lower <= value <= upper),
                "rank": sbc_rank(draws, value, sbc_draws),
                "sbc_draws": int(sbc_draws),
            }
        )
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


def uniformity_test(
    ranks: Sequence[int], sbc_draws: int, bins: int, *, seed: int = 0, simulations: int = 100_000
) -> dict:
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
    return {
        "bins": int(bins),
        "statistic": statistic,
        "df": int(bins - 1),
        "p_value": p_value,
        "method": method,
        "counts": " ".join(str(int(c)) for c in counts),
    }


def bias_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Per scenario x parameter: mean bias of the posterior mean (with its Monte Carlo SE), RMSE,
    mean interval width and mean posterior SD."""
    rows = []
    for (scenario, model, parameter), g in scores.groupby(["scenario", "model", "parameter"], sort=False):
        err = g["mean"] - g["truth"]
        rows.append(
            {
                "scenario": scenario,
                "model": model,
                "parameter": parameter,
                "replications": len(g),
                "mean_bias": float(err.mean()),
                "bias_mcse": float(err.std(ddof=1) / np.sqrt(len(g))) if len(g) > 1 else float("nan"),
                "rmse": float(np.sqrt((err**2).mean())),
                "mean_width": float((g["upper"] - g["lower"]).mean()),
                "mean_posterior_sd": float(g["sd"].mean()),
                "truth_sd": float(g["truth"].std(ddof=1)) if len(g) > 1 else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def validation_tables(
    scores: pd.DataFrame, *, prob: float, level: float, bins: int
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
        coverage.append(
            {
                "scenario": scenario,
                "model": model,
                "parameter": parameter,
                "replications": r,
                "covered": covered,
                "coverage": covered / r,
                "nominal": prob,
                "tolerance_lower": lo,
                "tolerance_upper": hi,
                "check_level": per_check,
                "checks": n_checks,
                "within_tolerance": bool(lo <= covered <= hi),
            }
        )
        sbc_draws = int(g["sbc_draws"].iloc[0])
        b = effective_bins(r, sbc_draws, bins)
        test = uniformity_test(g["rank"].to_numpy(), sbc_draws, b)
        uniformity.append(
            {
                "scenario": scenario,
                "model": model,
                "parameter": parameter,
                "replications": r,
                "sbc_draws": sbc_draws,
                **test,
                "check_level": per_check,
                "checks": n_checks,
                "rejected": bool(test["p_value"] < per_check),
            }
        )
    return pd.DataFrame(coverage), pd.DataFrame(uniformity), bias_table(scores)


def failures(coverage: pd.DataFrame, uniformity: pd.DataFrame) -> list[str]:
    """One message per failed check, naming scenario, parameter, the value and its tolerance."""
    out = []
    for r in coverage[~coverage["within_tolerance"].astype(bool)].itertuples():
        out.append(
            f"scenario {r.scenario}, parameter {r.parameter}: {r.nominal:.0%} interval coverage "
            f"{r.covered}/{r.replications} = {r.coverage:.2f}, outside the binomial tolerance "
            f"[{r.tolerance_lower}, {r.tolerance_upper}] of {r.replications} replications "
            f"(per-check level {r.check_level:.2g} = level / {r.checks} checks, Bonferroni)"
        )
    for r in uniformity[uniformity["rejected"].astype(bool)].itertuples():
        out.append(
            f"scenario {r.scenario}, parameter {r.parameter}: SBC ranks not uniform, chi-square "
            f"{r.statistic:.1f} on {r.df} df ({r.method}), p = {r.p_value:.2g} < {r.check_level:.2g} "
            f"(bin counts {r.counts})"
        )
    return out


def verdict(coverage: pd.DataFrame, uniformity: pd.DataFrame) -> str:
    """A one-paragraph pass summary, or :class:`ValidationFailed` listing every failed check."""
    failed = failures(coverage, uniformity)
    checks = len(coverage) + len(uniformity)
    if failed:
        raise ValidationFailed(f"validation FAILED {len(failed)} of {checks} checks:\n  " + "\n  ".join(failed))
    worst = coverage.loc[coverage["coverage"].idxmin()]
    return (
        f"validation PASSED all {checks} checks ({coverage['scenario'].nunique()} scenarios, "
        f"{len(coverage)} scenario x parameter coverage counts and as many SBC uniformity tests, each at "
        f"level {coverage['check_level'].iloc[0]:.2g}). Lowest coverage: {worst['scenario']} "
        f"{worst['parameter']} {worst['covered']}/{worst['replications']}; smallest SBC p-value "
        f"{uniformity['p_value'].min():.2g}."
    )


def fit_failures(diagnostics: pd.DataFrame) -> pd.DataFrame:
    """Per scenario: fits, fits failing any convergence diagnostic, and which diagnostics failed.

    ``diagnostics`` stacks the fits' diagnostics tables with ``scenario`` and
    ``replicate`` columns. Failed fits stay in the coverage and SBC tables
    (dropping them would condition on the data and bias both).
    """
    rows = []
    for scenario, g in diagnostics.groupby("scenario", sort=False):
        failed = g[~g["passed"].astype(bool)]
        rows.append(
            {
                "scenario": scenario,
                "fits": g["replicate"].nunique(),
                "failed_fits": failed["replicate"].nunique(),
                "failed_replicates": " ".join(str(x) for x in sorted(failed["replicate"].unique())),
                "failed_diagnostics": "; ".join(f"{k} x{v}" for k, v in failed["diagnostic"].value_counts().items()),
            }
        )
    return pd.DataFrame(rows, columns=["scenario", "fits", "failed_fits", "failed_replicates", "failed_diagnostics"])
