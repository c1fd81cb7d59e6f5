r"""The time-course model: how the ketamine-over-placebo effect fades with weeks since the end of infusion.

The placebo-adjusted model (:mod:`crpsmeta.models.placebo_adjusted`) answers "how many, and how many more
than placebo" at two timepoints; this model uses the ``weeks`` each outcome reports to answer "for how
long". For study :math:`s`, a row observed :math:`w` weeks after the end of infusion, and an arm with
responder counts (:math:`k = 1` for ketamine, 0 for placebo):

.. math::

    y &\sim \mathrm{Binomial}(n, \operatorname{logit}^{-1}\eta) \\
    \eta &= \alpha(w) + \sigma_\alpha v_s + k\,(d + \tau u_s)\,2^{-w/h} + b_s\,\beta + \gamma_c \\
    \alpha(w) &= \alpha_{late} + (\alpha_{early} - \alpha_{late}) \max(0, 1 - w / W) \\
    u_s, v_s &\sim \mathcal N(0, 1)

- :math:`d` (``effect_mu``): the population log odds ratio, ketamine versus placebo, at the end of
  infusion (week 0); :math:`\tau` the between-study SD of a study's week-0 effect, which fades at the
  common rate;
- :math:`h` (``half_life``, weeks): the time in which the log odds ratio halves. Its prior can come from
  the PK-PD re-analysis of the one RCT (Dahan et al. 2011: onset/offset half-life 10.9 days, 5.3-20.5);
- :math:`\alpha_{early}, \alpha_{late}` (``placebo_mu`` at ``immediate`` and ``followup``): the placebo
  response at week 0 and from week :math:`W` (``placebo_late_week``) on, joined linearly on the logit
  scale, so the placebo response may differ early and late (Mbizvo et al. 2015 saw no late placebo
  response in CRPS); :math:`\sigma_\alpha` (``tau_placebo``) the between-study SD of the placebo response;
- :math:`\beta` (``design_bias``), :math:`\gamma_c` (definition offsets), the Chinn contrasts and the
  single-arm pain changes enter as in the placebo-adjusted model, each at its own week.

A row whose ``weeks`` the source does not give has its week as a parameter, uniform over its timepoint's
window (``unknown_weeks``, e.g. 4-13 weeks for "1-3 months"); rows of one study and timepoint share it.

Only rows reported at two or more distinct weeks (or a prior) inform :math:`h`: with every row at one week
the data say nothing about the decay and the half-life's posterior is its prior
(``tests/models/test_time_course.py``). The estimands (:func:`curves`, :func:`weeks_to_threshold`) are
computed from the posterior draws of the record, for any week.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crpsmeta.models.placebo_adjusted import check_rows
from crpsmeta.models.priors import HyperparameterData
from crpsmeta.registry import spec
from crpsmeta.vocabulary import KETAMINE, REFERENCE_DEFINITION, TIMEPOINTS

# the prior slots of its block (crpsmeta.registry: the keys it reads, less the definition offsets' SD)
PRIOR_NAMES = tuple(k for k in spec("time_course").prior_keys if k != "definition_offset_sd")
LN2 = float(np.log(2.0))
# the columns of the model's row matrices (pm.Data arm_data, contrast_data, pain_data): study and occasion
# indices and the known week first (occasion 0 = a week the source gives)
_WHEN = ("study_idx", "occasion_idx", "weeks")
ARM_FIELDS = (
    *(f"arm_{f}" for f in _WHEN),
    "arm_definition_idx",
    "arm_is_ketamine",
    "arm_nonrandomised",
    "n",
    "responders",
)
CONTRAST_FIELDS = (*(f"contrast_{f}" for f in _WHEN), "contrast_se", "contrast_log_or")
PAIN_FIELDS = (*(f"pain_{f}" for f in _WHEN), "pain_is_ketamine", "pain_nonrandomised", "pain_se", "pain_d")


def decay(weeks, half_life):
    """The fraction of the week-0 log odds ratio left after ``weeks``: 2^(-weeks / half_life)."""
    return np.exp(-LN2 * np.asarray(weeks, dtype=float) / np.asarray(half_life, dtype=float))


def placebo_logit(weeks, early, late, late_week: float):
    """The placebo logit at ``weeks``: ``early`` at week 0, ``late`` from ``late_week`` on, linear between."""
    share_early = np.clip(1.0 - np.asarray(weeks, dtype=float) / float(late_week), 0.0, 1.0)
    return np.asarray(late) + (np.asarray(early) - np.asarray(late)) * share_early


def _occasions(rows: pd.DataFrame) -> list[tuple[str, str]]:
    """The (study, timepoint) pairs whose week the source does not give, in row order."""
    unknown = rows[rows["weeks"].isna()]
    return list(dict.fromkeys(zip(unknown["study_id"].astype(str), unknown["timepoint"].astype(str))))


def time_course_model(
    used: pd.DataFrame,
    *,
    priors: dict,
    definition_offset_sd: float,
    unknown_weeks: dict[str, tuple[float, float]],
    placebo_late_week: float,
    reference_definition: str = REFERENCE_DEFINITION,
):
    """Build the time-course model.

    Parameters
    ----------
    used : DataFrame
        The placebo-adjusted model's rows (:func:`crpsmeta.inputs.selection.model_inputs`: ``kind`` =
        responders, contrast or pain) with a ``weeks`` column (NaN where the source gives no week).
    priors : dict
        A :class:`~crpsmeta.models.priors.Prior` for each name in :data:`PRIOR_NAMES`.
    definition_offset_sd : float
        SD of the Normal(0, sd) prior on each non-reference definition offset.
    unknown_weeks : dict
        Timepoint -> (first week, last week): the window a row without ``weeks`` was observed in.
    placebo_late_week : float
        Week from which the placebo response is the late one (> 0).
    """
    import pymc as pm
    import pytensor.tensor as pt

    missing = set(PRIOR_NAMES) - set(priors)
    if missing:
        raise ValueError(f"missing priors: {', '.join(sorted(missing))}")
    if not placebo_late_week > 0:
        raise ValueError(f"placebo_late_week must be > 0, got {placebo_late_week!r}")
    if "weeks" not in used:
        raise ValueError("time_course needs a weeks column (NaN where the source gives none)")
    kind = used["kind"] if "kind" in used else pd.Series("responders", index=used.index)
    if not len(used):
        raise ValueError("time_course needs at least one responder count, contrast or single-arm pain change")
    arms = used[kind == "responders"].reset_index(drop=True)
    contrasts = used[kind == "contrast"].reset_index(drop=True)
    pains = used[kind == "pain"].reset_index(drop=True)
    check_rows(arms, contrasts, pains)
    weeks = used["weeks"].to_numpy(dtype=float)
    if np.any(weeks[np.isfinite(weeks)] < 0):
        raise ValueError("weeks since the end of infusion must be >= 0")
    occasions = _occasions(used)
    for tp in {t for _, t in occasions}:
        lo, hi = unknown_weeks.get(tp, (np.nan, np.nan))
        if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo < hi):
            raise ValueError(f"unknown_weeks of {tp} must be two weeks 0 <= first < last, got {(lo, hi)!r}")

    studies = list(dict.fromkeys(str(s) for f in (arms, contrasts, pains) if len(f) for s in f["study_id"]))
    s_idx = {s: i for i, s in enumerate(studies)}
    definitions = sorted(set(arms.get("definition_class", [])) - {reference_definition})
    d_idx = {c: i + 1 for i, c in enumerate(definitions)}  # 0 = reference
    o_idx = {o: i + 1 for i, o in enumerate(occasions)}  # 0 = a known week

    def columns(frame, *extra):
        """A row matrix: study index, occasion index (0 = a week the source gives), known week (0 where
        unknown), then ``extra`` columns."""
        w = frame["weeks"].to_numpy(dtype=float) if len(frame) else np.zeros(0)
        occ = [
            o_idx.get((str(s), str(t)), 0) if not np.isfinite(x) else 0
            for s, t, x in zip(frame.get("study_id", []), frame.get("timepoint", []), w)
        ]
        base = [
            np.array([s_idx[str(s)] for s in frame.get("study_id", [])], dtype="float64"),
            np.asarray(occ, dtype="float64"),
            np.where(np.isfinite(w), w, 0.0),
        ]
        return np.column_stack([*base, *[np.asarray(c, dtype="float64") for c in extra]]).reshape(
            len(frame), 3 + len(extra)
        )

    def label(frame, arm=True):
        return [
            f"{r.study_id}/{r.arm}/{r.timepoint}" if arm else f"{r.study_id}/{r.timepoint}" for r in frame.itertuples()
        ]

    coords = {
        "study": studies,
        "timepoint": list(TIMEPOINTS),
        "definition": definitions,
        "occasion": [f"{s}/{t}" for s, t in occasions],
        "arm_obs": label(arms),
        "contrast_obs": label(contrasts, arm=False),
        "pain_obs": label(pains),
        "arm_field": list(ARM_FIELDS),
        "contrast_field": list(CONTRAST_FIELDS),
        "pain_field": list(PAIN_FIELDS),
        "occasion_field": ["unknown_weeks_lower", "unknown_weeks_upper"],
    }
    arm_rows = columns(
        arms,
        [d_idx.get(c, 0) for c in arms.get("definition_class", [])],
        (arms.get("arm", pd.Series([], dtype=str)) == KETAMINE).to_numpy(),
        arms.get("nonrandomised", []),
        arms.get("n", []),
        arms.get("responders", []),
    )
    contrast_rows = columns(contrasts, contrasts.get("se", []), contrasts.get("log_or", []))
    pain_rows = columns(
        pains,
        (pains.get("arm", pd.Series([], dtype=str)) == KETAMINE).to_numpy(),
        pains.get("nonrandomised", []),
        pains.get("se", []),
        pains.get("d", []),
    )
    occasion_rows = np.array([unknown_weeks[t] for _, t in occasions], dtype="float64").reshape(len(occasions), 2)
    hyper = HyperparameterData(
        {name: priors[name] for name in PRIOR_NAMES},
        constants={
            "definition_offset_prior_sd": float(definition_offset_sd),
            "placebo_late_week": float(placebo_late_week),
        },
    )
    with pm.Model(coords=coords) as model:
        # rows in a matrix per kind (a column per field, read back by crpsmeta.fitting.record.constant_data) and
        # the priors' hyperparameters in one vector: nutpie compiles a helper per pm.Data node
        arm = pm.Data("arm_data", arm_rows, dims=("arm_obs", "arm_field"))
        contrast = pm.Data("contrast_data", contrast_rows, dims=("contrast_obs", "contrast_field"))
        pain = pm.Data("pain_data", pain_rows, dims=("pain_obs", "pain_field"))
        hyper.register()
        late_week = hyper["placebo_late_week"]
        offset_sd = hyper["definition_offset_prior_sd"]
        placebo_mu = priors["placebo_mu"].register("placebo_mu", hyper, dims="timepoint")
        effect_mu = priors["effect_mu"].register("effect_mu", hyper)
        half_life = priors["half_life"].register("half_life", hyper)
        tau = priors["tau"].register("tau", hyper)
        tau_placebo = priors["tau_placebo"].register("tau_placebo", hyper)
        design_bias = priors["design_bias"].register("design_bias", hyper)
        pain_threshold = priors["pain_threshold"].register("pain_threshold", hyper)
        offset_raw = pm.Normal("definition_offset_z", 0.0, 1.0, dims="definition")
        offset = pm.Deterministic("definition_offset", offset_sd * offset_raw, dims="definition")
        offsets = pt.concatenate([pt.zeros(1), offset])
        u_raw = pm.Normal("u_raw", 0.0, 1.0, dims="study")
        v_raw = pm.Normal("v_raw", 0.0, 1.0, dims="study")
        study_effect = pm.Deterministic("study_effect", effect_mu + tau * u_raw, dims="study")
        study_placebo = tau_placebo * v_raw
        if occasions:
            bounds = pm.Data("occasion_data", occasion_rows, dims=("occasion", "occasion_field"))
            unknown = pm.Uniform("unknown_weeks", lower=bounds[:, 0], upper=bounds[:, 1], dims="occasion")
            latent = pt.concatenate([pt.zeros(1), unknown])
        else:
            latent = pt.zeros(1)

        def linear(rows):
            """Placebo logit and ketamine log odds ratio of each row of a matrix, at its week."""
            study, occ = pt.cast(rows[:, 0], "int64"), pt.cast(rows[:, 1], "int64")
            w = pt.switch(pt.gt(occ, 0), latent[occ], rows[:, 2])
            share_early = pt.clip(1.0 - w / late_week, 0.0, 1.0)
            alpha = placebo_mu[1] + (placebo_mu[0] - placebo_mu[1]) * share_early + study_placebo[study]
            return alpha, study_effect[study] * pt.exp(-LN2 * w / half_life)

        if len(arms):
            alpha, effect = linear(arm)
            arm_def = pt.cast(arm[:, 3], "int64")
            logit = alpha + arm[:, 4] * effect + arm[:, 5] * design_bias + offsets[arm_def]
            n, y = pt.cast(arm[:, 6], "int64"), pt.cast(arm[:, 7], "int64")
            pm.Binomial("y", n=n, logit_p=logit, observed=y, dims="arm_obs")
        if len(contrasts):
            _, effect = linear(contrast)
            pm.Normal("contrast", mu=effect, sigma=contrast[:, 3], observed=contrast[:, 4], dims="contrast_obs")
        if len(pains):
            alpha, effect = linear(pain)
            latent_logit = alpha + pain[:, 3] * effect + pain[:, 4] * design_bias
            pm.Normal(
                "pain",
                mu=(np.sqrt(3.0) / np.pi) * (latent_logit + pain_threshold),
                sigma=pain[:, 5],
                observed=pain[:, 6],
                dims="pain_obs",
            )
    return model


# ---- estimands from draws ------------------------------------------------------------------------------------


def _draws(group, name) -> np.ndarray:
    """(chain, draw) array of a scalar variable, or of one timepoint of ``placebo_mu``."""
    return np.asarray(group[name].values, dtype=float)


def curves(group, weeks, *, late_week: float, seed: int | None = None) -> dict[str, np.ndarray]:
    """The model's answers at each of ``weeks`` from one group's draws (posterior or prior).

    Every array has shape (chain, draw, week), for a randomised comparison at the reference definition:
    ``log_odds_ratio`` (d 2^(-w/h)), ``odds_ratio``, ``placebo_response_rate``, ``ketamine_response_rate``,
    ``risk_difference``; with ``seed``, also ``predicted_risk_difference``: a new study's difference, its
    effect and placebo response drawn from the random-effects distributions (the prediction interval).
    """
    weeks = np.asarray(weeks, dtype=float)
    mu = np.asarray(group["placebo_mu"].transpose("chain", "draw", "timepoint").values, dtype=float)
    early, late = mu[..., 0:1], mu[..., 1:2]
    d, h = _draws(group, "effect_mu")[..., None], _draws(group, "half_life")[..., None]
    alpha = placebo_logit(weeks[None, None, :], early, late, late_week)
    lor = d * decay(weeks[None, None, :], h)
    expit = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731
    out = {
        "log_odds_ratio": lor,
        "odds_ratio": np.exp(lor),
        "placebo_response_rate": expit(alpha),
        "ketamine_response_rate": expit(alpha + lor),
        "risk_difference": expit(alpha + lor) - expit(alpha),
    }
    if seed is not None:
        rng = np.random.default_rng(int(seed))
        shape = d.shape[:2] + (1,)
        tau, tau_p = _draws(group, "tau")[..., None], _draws(group, "tau_placebo")[..., None]
        alpha_new = alpha + tau_p * rng.standard_normal(shape)
        lor_new = (d + tau * rng.standard_normal(shape)) * decay(weeks[None, None, :], h)
        out["predicted_risk_difference"] = expit(alpha_new + lor_new) - expit(alpha_new)
    return out


def weeks_to_threshold(group, threshold: float, *, late_week: float, horizon: float, step: float = 0.1):
    """Per draw, the first week at which the risk difference is at or below ``threshold`` (0 if it starts
    there), searched on a grid of ``step`` weeks up to ``horizon``; draws still above it at the horizon get
    ``horizon`` (censored). Returns (weeks (chain, draw), censored (chain, draw) booleans)."""
    grid = np.arange(0.0, float(horizon) + step / 2, step)
    rd = curves(group, grid, late_week=late_week)["risk_difference"]
    below = rd <= threshold
    first = np.where(below.any(axis=-1), grid[np.argmax(below, axis=-1)], float(horizon))
    return first, ~below.any(axis=-1)


def row_draws(group, used: pd.DataFrame, *, late_week: float) -> dict[str, np.ndarray]:
    """Per row of ``used`` (the fit's rows, with ``weeks``), draws (chain, draw, row) of its week (as reported,
    or the week parameter of a row the source gives none), of its study's modelled log odds ratio at that
    week, d_s 2^(-week / half_life), and of the risk difference that log odds ratio gives over the population
    placebo response at that week (a randomised comparison at the reference definition)."""
    half_life = _draws(group, "half_life")
    weeks, lor = [], []
    for r in used.itertuples():
        if pd.notna(r.weeks):
            w = np.full(half_life.shape, float(r.weeks))
        else:
            w = np.asarray(group["unknown_weeks"].sel(occasion=f"{r.study_id}/{r.timepoint}").values, dtype=float)
        weeks.append(w)
        lor.append(
            np.asarray(group["study_effect"].sel(study=str(r.study_id)).values, dtype=float) * decay(w, half_life)
        )
    weeks_a, lor_a = np.stack(weeks, axis=-1), np.stack(lor, axis=-1)
    mu = np.asarray(group["placebo_mu"].transpose("chain", "draw", "timepoint").values, dtype=float)
    alpha = placebo_logit(weeks_a, mu[..., 0:1], mu[..., 1:2], late_week)
    expit = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731
    return {"weeks": weeks_a, "log_odds_ratio": lor_a, "risk_difference": expit(alpha + lor_a) - expit(alpha)}
