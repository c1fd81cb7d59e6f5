"""One entry per model: what it pools, where its priors and data choices live, how it is fitted, what it answers.

Adding a model means adding its :class:`ModelSpec` here, its builder (called from
:func:`crpsmeta.models.build.build_model`), its rows (:func:`crpsmeta.inputs.selection.model_inputs`) and its
summary rows (:func:`crpsmeta.summaries.estimands.estimands_table`, which writes only the estimands listed
here); the plan, the prior blocks, the forest plots, the report's arm labels and its "cannot estimate"
sentences read this table instead of spelling the model's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from crpsmeta.vocabulary import JOINT, KETAMINE, PLACEBO

# The meta-regressions: one model per study-level covariate (values: crpsmeta.inputs.covariates)
REGRESSION_PREFIX = "regression_"


@dataclass(frozen=True)
class Covariate:
    name: str
    kind: str  # "numeric" or "categorical"
    unit: str
    definition: str


COVARIATES = {
    "dose": Covariate(
        "dose",
        "numeric",
        "mg/kg/h",
        "infusion rate, midpoint of dose_min_mg_kg_h and dose_max_mg_kg_h (mg/kg/h); "
        "studies giving the dose only in mg/h or mg/day are left out",
    ),
    "days": Covariate("days", "numeric", "day", "infusion days (mean course length where given)"),
    "setting": Covariate("setting", "categorical", "level", "where the infusions were given"),
    "definition": Covariate("definition", "categorical", "level", "responder-definition class of the count"),
    "se": Covariate(
        "se",
        "numeric",
        "SE unit",
        "standard error of the study's observed logit rate (0.5 added to zero cells, as metafor): "
        "Egger-type small-study covariate",
    ),
}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    arm: str | None  # the arm whose responder counts it pools (used.csv has no arm column); None: both arms
    prior_block: str  # the block of a prior set (config prior_sets.<set>.<block>) its priors come from
    options: str  # the config section of its data choices ("meta_regression": pooled_rate's plus a covariate)
    joint: bool  # one fit for both timepoints (fit unit "joint") rather than one per timepoint
    question: str  # what it answers, in the report's words
    # what its summary reports: rows of results/summaries/.../estimands.csv (per timepoint for a joint fit);
    # for a regression, the coefficient of each covariate term (results/regression/)
    estimands: tuple[str, ...] = ()
    # the keys of its prior block it reads (None: all), so an edit of another key does not refit it
    prior_keys: tuple[str, ...] | None = None

    def fit_units(self, timepoints) -> list[str]:
        """The fits the model needs: one per timepoint, or one joint fit."""
        return [JOINT] if self.joint else list(timepoints)


MODELS: dict[str, ModelSpec] = {
    "pooled_rate": ModelSpec(
        "pooled_rate",
        KETAMINE,
        "pooled_rate",
        "pooled_rate",
        False,
        "How many respond on ketamine, pooled without a placebo term (pooled_rate)",
        ("pooled_rate", "predicted_rate", "mu", "tau", "i2"),
    ),
    "placebo_adjusted": ModelSpec(
        "placebo_adjusted",
        None,
        "placebo_adjusted",
        "placebo_adjusted",
        True,
        "How much of the relief is more than placebo (placebo_adjusted)",
        (
            "placebo_response_rate",
            "ketamine_response_rate",
            "risk_difference",
            "odds_ratio",
            "log_odds_ratio",
            "placebo_logit",
            "nnt",
            "prob_risk_difference_gt_0",
            "prob_risk_difference_gt_threshold",
            "predicted_placebo_rate",
            "predicted_ketamine_rate",
            "predicted_risk_difference",
            "predicted_log_odds_ratio",
            "single_arm_rate",
            "placebo_share",
            "prob_predicted_risk_difference_gt_0",
            "persistence",
            "tau",
            "tau_placebo",
            "design_bias",
        ),
        (
            "placebo_mu",
            "effect_mu",
            "persistence",
            "tau",
            "tau_placebo",
            "rho",
            "design_bias",
            "pain_threshold",
            "definition_offset_sd",
        ),
    ),
    "time_course": ModelSpec(
        "time_course",
        None,
        "placebo_adjusted",
        "time_course",
        True,
        "How long the relief beyond placebo lasts (time_course)",
        (
            # per week of config time_course.weeks (timepoint column week_<w>)
            "log_odds_ratio",
            "odds_ratio",
            "placebo_response_rate",
            "ketamine_response_rate",
            "risk_difference",
            "predicted_risk_difference",
            "prob_risk_difference_gt_threshold",
            # one row each (timepoint column "joint")
            "half_life",
            "weeks_to_threshold",
            "prob_above_threshold_at_horizon",
            "tau",
            "tau_placebo",
            "design_bias",
        ),
        (
            "placebo_mu",
            "effect_mu",
            "half_life",
            "tau",
            "tau_placebo",
            "design_bias",
            "pain_threshold",
            "definition_offset_sd",
        ),
    ),
    "placebo_map": ModelSpec(
        "placebo_map",
        PLACEBO,
        "pooled_rate",
        "placebo_adjusted",
        False,
        "The placebo response on its own, as a prior for a new trial (placebo_map)",
        ("predicted_placebo_rate", "pooled_placebo_rate", "tau", "predicted_placebo_rate_ess"),
    ),
    **{
        REGRESSION_PREFIX + name: ModelSpec(
            REGRESSION_PREFIX + name,
            KETAMINE,
            "pooled_rate",
            "meta_regression",
            False,
            f"How the pooled ketamine rate changes with {name} ({REGRESSION_PREFIX + name})",
            ("beta",),
        )
        for name in COVARIATES
    },
}
REGRESSION_MODELS = tuple(m for m, s in MODELS.items() if s.options == "meta_regression")
# the models whose fits get the LOO-PIT check (the primary model: LOO-PIT needs a log-likelihood per observation
# and is the costliest check)
LOO_PIT_MODELS = ("placebo_adjusted",)
# which arm each single-arm-style model pools (the data step and the report's arm labels)
POOLED_ARM = {m: s.arm for m, s in MODELS.items() if s.arm is not None and s.options != "meta_regression"}


def spec(model: str) -> ModelSpec:
    """The model's entry; ValueError naming the known models for anything else."""
    try:
        return MODELS[model]
    except KeyError:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}") from None


def pooled_arm(model: str) -> str | None:
    """The arm whose responder counts ``model`` pools; None for a model that uses both arms (placebo_adjusted)."""
    return MODELS[model].arm if model in MODELS else None


def fit_units(model: str, timepoints: list[str]) -> list[str]:
    """The fits a model needs: one per timepoint, or one joint fit (``ModelSpec.fit_units``)."""
    return spec(model).fit_units(timepoints)


def priors_block(prior_set: dict, model: str) -> dict:
    """The block of a prior set a model uses (its ``prior_block``; placebo_map and the regressions borrow
    pooled_rate's, time_course placebo_adjusted's), restricted to the keys it reads (``prior_keys``)."""
    entry = spec(model)
    block = prior_set[entry.prior_block]
    return dict(block) if entry.prior_keys is None else {k: block[k] for k in entry.prior_keys if k in block}
