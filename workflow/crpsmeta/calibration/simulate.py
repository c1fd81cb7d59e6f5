"""Data simulated from the models with known parameters (for recovery tests and validation).

For the validation target (``snakemake validate``): :func:`draw_truth` draws known parameters from the prior
of the fitted model (a scenario is first checked by :func:`crpsmeta.inputs.config.check_design`), and
:func:`simulate_replicate` simulates one data set of a scenario's design. Its counterparts score the fits
(:mod:`crpsmeta.calibration.scoring`) and write the report (:mod:`crpsmeta.calibration.report`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.special import expit

from crpsmeta.inputs.config import check_design
from crpsmeta.vocabulary import CONTRAST_ARM, KETAMINE, PLACEBO, REFERENCE_DEFINITION, TIMEPOINTS


def simulate_regression(x, n, *, mu: float, tau: float, beta: float, rng: np.random.Generator) -> pd.DataFrame:
    """Responder counts with a known covariate effect: theta_i = mu + beta (x_i - mean x) + tau z_i.

    For a simulated small-study effect pass ``x`` = the expected standard
    error of each study's logit rate, 1 / sqrt(n p (1 - p)).
    """
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=int)
    theta = mu + beta * (x - x.mean()) + tau * rng.standard_normal(x.size)
    y = rng.binomial(n, 1.0 / (1.0 + np.exp(-theta)))
    return pd.DataFrame(
        {
            "study_id": [f"Sim{i + 1:03d}" for i in range(x.size)],
            "n": n,
            "responders": y,
            "x": x,
            "theta": theta,
            "definition_class": REFERENCE_DEFINITION,
        }
    )


def simulate_pooled_rate(
    k: int, mu: float, tau: float, rng: np.random.Generator, n_low: int = 5, n_high: int = 70
) -> pd.DataFrame:
    """Responder counts of ``k`` single-arm studies from the pooled_rate model.

    Study sizes are uniform on [n_low, n_high] (the shipped evidence spans 4-71).
    """
    n = rng.integers(n_low, n_high + 1, size=k)
    theta = mu + tau * rng.standard_normal(k)
    y = rng.binomial(n, expit(theta))
    return pd.DataFrame({"study_id": [f"Sim{i + 1:04d}" for i in range(k)], "n": n, "responders": y, "theta": theta})


def simulate_placebo_adjusted(
    truth: dict,
    rng: np.random.Generator,
    *,
    n_rct: int,
    n_single: int,
    n_contrast: int = 0,
    n_pain: int = 0,
    missing: float = 0.2,
    n_low: int = 20,
    n_high: int = 80,
    contrast_se: float = 0.45,
    pain_se: float = 0.4,
    rct_n: int | None = None,
    missing_rct: float | None = None,
    single_definitions: Sequence[str] | None = None,
    reference_definition: str = REFERENCE_DEFINITION,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mixed designs from the placebo-adjusted model with known parameters.

    ``truth`` holds ``placebo_mu`` (two logits: immediate, follow-up),
    ``effect_mu``, ``persistence``, ``tau``, ``tau_placebo``, ``rho`` and
    ``design_bias``. RCTs report responder counts in both arms; single-arm
    series report the ketamine arm only (plus the design bias); the first
    ``n_contrast`` RCTs report a continuous contrast (a log OR with standard
    error ``contrast_se``) instead of counts; the last ``n_pain`` single-arm
    series report a standardised pain improvement ``d`` (with ``truth
    ["pain_threshold"]``, standard error ``pain_se``) instead of counts. Each
    study x timepoint is missing with probability ``missing`` (at least one
    timepoint is kept). All studies use the reference responder definition.
    Returns (arms, other): ``other`` holds contrasts (``kind`` = contrast)
    and pain rows (``kind`` = pain).

    Optional (the defaults reproduce the above, draw for draw):
    ``rct_n`` fixes the size of every RCT arm (else drawn like the others);
    ``missing_rct`` is the probability that an RCT misses a timepoint (else
    ``missing``); ``single_definitions`` gives the responder-definition class
    of each single-arm series in turn (cycled), each shifting that series'
    responder logit by ``truth["definition_offset"][class]`` (0 when absent,
    as for the reference class); pain rows are at the reference definition,
    and RCT arms at ``reference_definition``.
    """
    alpha = np.asarray(truth["placebo_mu"], dtype=float)
    d = np.array([truth["effect_mu"], truth["persistence"] * truth["effect_mu"]])
    rho = truth["rho"]
    cov = np.array([[1.0, rho], [rho, 1.0]])
    arms, contrasts = [], []
    timepoints = TIMEPOINTS
    for i in range(n_rct + n_single):
        sid = f"Sim{i + 1:04d}"
        rct = i < n_rct
        u = rng.multivariate_normal(np.zeros(2), cov)
        v = rng.multivariate_normal(np.zeros(2), cov)
        keep = rng.random(2) >= (missing if not rct or missing_rct is None else missing_rct)
        if not keep.any():
            keep[rng.integers(2)] = True
        for t, tp in enumerate(timepoints):
            if not keep[t]:
                continue
            a = alpha[t] + truth["tau_placebo"] * v[t]
            delta = d[t] + truth["tau"] * u[t]
            if rct and i < n_contrast:
                contrasts.append(
                    {
                        "study_id": sid,
                        "arm": CONTRAST_ARM,
                        "timepoint": tp,
                        "kind": "contrast",
                        "log_or": delta + contrast_se * rng.standard_normal(),
                        "se": contrast_se,
                        "nonrandomised": 0,
                    }
                )
                continue
            bias = 0.0 if rct else truth["design_bias"]
            if not rct and i >= n_rct + n_single - n_pain:
                mean_d = np.sqrt(3.0) / np.pi * (a + delta + bias + truth["pain_threshold"])
                contrasts.append(
                    {
                        "study_id": sid,
                        "arm": KETAMINE,
                        "timepoint": tp,
                        "kind": "pain",
                        "d": mean_d + pain_se * rng.standard_normal(),
                        "se": pain_se,
                        "nonrandomised": 1,
                    }
                )
                continue
            definition, offset = reference_definition, 0.0
            if single_definitions and not rct:
                definition = single_definitions[(i - n_rct) % len(single_definitions)]
                offset = float(truth.get("definition_offset", {}).get(definition, 0.0))
            for arm, eta in ((KETAMINE, a + delta + bias + offset), (PLACEBO, a + bias + offset)):
                if arm == PLACEBO and not rct:
                    continue
                n = int(rct_n) if rct and rct_n is not None else int(rng.integers(n_low, n_high + 1))
                arms.append(
                    {
                        "study_id": sid,
                        "arm": arm,
                        "timepoint": tp,
                        "n": n,
                        "responders": int(rng.binomial(n, expit(eta))),
                        "definition_class": definition,
                        "nonrandomised": int(not rct),
                    }
                )
    arm_cols = ["study_id", "arm", "timepoint", "n", "responders", "definition_class", "nonrandomised"]
    return (
        pd.DataFrame(arms, columns=arm_cols),
        pd.DataFrame(contrasts, columns=["study_id", "arm", "timepoint", "kind", "log_or", "d", "se", "nonrandomised"]),
    )


# the responder-definition classes of .vocabulary in the order non-reference ones
# are given to simulated single-arm series (the order fixes the simulated data)
SIMULATION_DEFINITION_ORDER = (
    "complete_relief",
    "pain_free",
    "full_remission",
    "ge2point_or_success",
    "meaningful",
    "any_relief",
    "ge50pct",
    "ge30pct",
)


# the parameters each model's validation scores (scalars; "name[label,...]" picks
# an element along the variable's dims in order)
PARAMETERS = {
    "pooled_rate": ("mu", "tau", "pooled_rate", "theta[Sim0001]"),
    "placebo_adjusted": (
        "placebo_mu[immediate]",
        "placebo_mu[followup]",
        "effect_mu",
        "persistence",
        "tau",
        "tau_placebo",
        "rho",
        "design_bias",
        "pain_threshold",
        "risk_difference[immediate]",
        "risk_difference[followup]",
    ),
}


_TIMEPOINTS = TIMEPOINTS


# ---- known truths and simulated data ----------------------------------------------


def draw_prior(spec: Mapping, rng: np.random.Generator, size: int | None = None):
    """Draws from a prior given as a config mapping (``{"family": "normal", "mean": 0, "sd": 1.5}``).

    Written with NumPy, independently of :mod:`crpsmeta.models.priors` (which builds
    the PyMC variables), so a wrong prior in the model would show as miscalibration.
    """
    p = {k: float(v) for k, v in spec.items() if k != "family"}
    family = spec["family"]
    if family == "normal":
        return rng.normal(p["mean"], p["sd"], size)
    if family == "robust_normal":
        informative = rng.random(size) < p["weight"]
        return np.where(
            informative, rng.normal(p["mean"], p["sd"], size), rng.normal(p["vague_mean"], p["vague_sd"], size)
        )
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
    others = [c for c in SIMULATION_DEFINITION_ORDER if c != reference_definition]
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


def simulate_replicate(
    model: str, design: Mapping, priors: Mapping, seed: int, *, reference_definition: str = REFERENCE_DEFINITION
) -> tuple[pd.DataFrame, dict, dict]:
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
        sim = simulate_pooled_rate(
            int(design["single_arm"]),
            raw["mu"],
            raw["tau"],
            rng,
            n_low=int(design["n_min"]),
            n_high=int(design["n_max"]),
        )
        used = sim[["study_id", "n", "responders"]].assign(arm=KETAMINE, definition_class=reference_definition)
        truth = {
            "mu": raw["mu"],
            "tau": raw["tau"],
            "pooled_rate": float(expit(raw["mu"])),
            "theta[Sim0001]": float(sim["theta"].iloc[0]),
        }
        return used, truth, raw
    definitions = _definitions(int(design["definitions"]), reference_definition)
    raw = draw_truth(model, priors, rng, definitions=definitions)
    n_rct = int(design["rct_contrast"]) + int(design["rct"])
    arms, other = simulate_placebo_adjusted(
        raw,
        rng,
        n_rct=n_rct,
        n_single=int(design["single_arm"]),
        n_contrast=int(design["rct_contrast"]),
        n_pain=int(design["single_arm_pain"]),
        missing=float(design["missing"]),
        missing_rct=0.0,
        n_low=int(design["n_min"]),
        n_high=int(design["n_max"]),
        rct_n=int(design["rct_arm_n"]),
        contrast_se=float(design["contrast_se"]),
        pain_se=float(design["pain_se"]),
        single_definitions=[reference_definition, *definitions],
        reference_definition=reference_definition,
    )
    used = pd.concat([arms.assign(kind="responders"), other], ignore_index=True)
    effect = np.array([raw["effect_mu"], raw["persistence"] * raw["effect_mu"]])
    truth = {f"placebo_mu[{t}]": raw["placebo_mu"][i] for i, t in enumerate(_TIMEPOINTS)}
    truth.update(
        {k: raw[k] for k in ("effect_mu", "persistence", "tau", "tau_placebo", "rho", "design_bias", "pain_threshold")}
    )
    for i, t in enumerate(_TIMEPOINTS):
        truth[f"risk_difference[{t}]"] = float(expit(raw["placebo_mu"][i] + effect[i]) - expit(raw["placebo_mu"][i]))
    return used, truth, raw
