"""LOO-PIT (Gelfand, Dey, Chang 1992; Vehtari, Gelman, Gabry 2017) and its uniformity test.

The probability integral transform of each observation under its leave-one-out predictive distribution,
estimated with Pareto-smoothed importance weights, randomised for discrete counts. For a calibrated model
the LOO-PITs are (nearly independent) Uniform(0, 1); their ECDF is tested against the uniform with the
simultaneous band of :mod:`crpsmeta.criticism.ecdf`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from crpsmeta.criticism.ecdf import ecdf_counts, simultaneous_band
from crpsmeta.criticism.observations import _draws, observations


# ---- LOO-PIT -------------------------------------------------------------------------------------------------
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

    from crpsmeta.summaries.comparison import pareto_k_threshold

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
            rows.append(
                {
                    "observation": r["observation"],
                    "study_id": r["study_id"],
                    "arm": r["arm"],
                    "timepoint": r["timepoint"],
                    "kind": r["kind"],
                    "n": r["n"],
                    "observed": r["observed"],
                    "loo_pit": float(pit[i]),
                    "randomised": discrete,
                    "pareto_k": float(k[i]),
                    "pareto_k_threshold": threshold,
                    "k_good": bool(k[i] <= threshold),
                }
            )
    table = pd.DataFrame(rows)
    table.insert(0, "check", "loo_pit")
    return table


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
    pit = np.sort(np.asarray(pit, dtype=float))
    n = pit.size
    if n == 0:
        raise ValueError("no PIT values")
    grid = np.linspace(1.0 / n_points, 1.0, n_points)
    counts = ecdf_counts(pit, grid)
    ecdf = counts / n
    lower, upper = simultaneous_band(n, grid, prob)
    eps = 1e-12
    flagged = bool(np.any(ecdf < lower - eps) | np.any(ecdf > upper + eps))
    tails = _tail_table(n, grid)
    statistic = float(_statistic(counts, tails))
    rng = np.random.default_rng(seed)
    sim = np.empty(n_sim)
    for start in range(0, n_sim, 1000):  # chunks keep memory small for large N
        u = np.sort(rng.uniform(size=(min(1000, n_sim - start), n)), axis=1)
        sim[start : start + len(u)] = _statistic(ecdf_counts(u, grid), tails)
    p_value = float((1 + np.sum(sim <= statistic + 1e-12)) / (n_sim + 1))
    return {
        "n": n,
        "n_points": n_points,
        "prob": prob,
        "statistic": statistic,
        "p_value": p_value,
        "flagged": flagged,
        "grid": grid,
        "ecdf": ecdf,
        "band_lower": np.asarray(lower),
        "band_upper": np.asarray(upper),
    }
