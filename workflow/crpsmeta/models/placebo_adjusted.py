r"""The placebo-adjusted model: arm-based, both timepoints in one fit.

For study :math:`s`, timepoint :math:`t` (0 = immediate, 1 = follow-up) and
an arm with responder counts (:math:`k = 1` for ketamine, 0 for placebo):

.. math::

    y &\sim \mathrm{Binomial}(n, \operatorname{logit}^{-1}\eta) \\
    \eta &= \alpha_{st} + k\,\delta_{st} + b_s\,\beta + \gamma_{c} \\
    \alpha_{st} &= \alpha_t + \sigma_\alpha v_{st}, \qquad
    \delta_{st} = d_t + \tau u_{st} \\
    d_0 &= d, \qquad d_1 = \pi\,d \quad (\pi = \text{persistence}) \\
    (u_{s0}, u_{s1}), (v_{s0}, v_{s1}) &\sim \mathcal N\!\left(0, \begin{pmatrix}1&\rho\\ \rho&1\end{pmatrix}\right)

- :math:`\alpha_t`: population placebo response (logit), informative prior
  from external placebo evidence, optionally robust (a mixture with a vague
  component);
- :math:`d`: population ketamine log odds ratio versus placebo, immediately;
  :math:`\pi` carries it to follow-up;
- :math:`\beta` (``design_bias``): added to every arm of a non-randomised
  study (:math:`b_s = 1`): single-arm series inform :math:`\alpha + d + \beta`
  together, so the prior on :math:`\beta` sets how much they are discounted;
- :math:`\gamma_c`: offset of responder-definition class :math:`c` relative
  to the reference class (0 for the reference), with a Normal(0, sd) prior;
- continuous contrasts from controlled trials (converted to a log OR with
  Chinn 2000) enter as :math:`\hat\delta_{st} \sim \mathcal N(\delta_{st}, se^2)`;
- a single arm's pain change, as a standardised mean improvement :math:`d`,
  enters through the same logistic latent variable that underlies Chinn's
  conversion: a patient responds when their improvement exceeds a threshold,
  so :math:`\eta_{ref} = \tfrac{\pi}{\sqrt3} d - \kappa`, i.e.
  :math:`\hat d \sim \mathcal N(\tfrac{\sqrt3}{\pi}(\eta_{ref} + \kappa), se^2)`,
  with :math:`\eta_{ref}` the arm's logit at the reference definition and
  :math:`\kappa` (``pain_threshold``) the responder threshold in units of the
  latent logistic scale.

Estimands are defined for a randomised comparison at the reference responder
definition: placebo rate :math:`\operatorname{logit}^{-1}\alpha_t`, ketamine
rate :math:`\operatorname{logit}^{-1}(\alpha_t + d_t)`, their difference and
odds ratio :math:`e^{d_t}`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from crpsmeta.models.priors import HyperparameterData, Prior
from crpsmeta.registry import spec
from crpsmeta.vocabulary import ARMS, KETAMINE, REFERENCE_DEFINITION, TIMEPOINTS

# the prior slots of its block (crpsmeta.registry: the keys it reads, less the definition offsets' SD)
PRIOR_NAMES = tuple(k for k in spec("placebo_adjusted").prior_keys if k != "definition_offset_sd")
# The columns of the model's data matrices (pm.Data arm_data, contrast_data, pain_data; coordinates of
# arm_field, contrast_field, pain_field), in order.
ARM_FIELDS = (
    "arm_study_idx",
    "arm_timepoint_idx",
    "arm_definition_idx",
    "arm_is_ketamine",
    "arm_nonrandomised",
    "n",
    "responders",
)
CONTRAST_FIELDS = ("contrast_study_idx", "contrast_timepoint_idx", "contrast_se", "contrast_log_or")
PAIN_FIELDS = ("pain_study_idx", "pain_timepoint_idx", "pain_is_ketamine", "pain_nonrandomised", "pain_se", "pain_d")


def check_rows(arms: pd.DataFrame, contrasts: pd.DataFrame, pains: pd.DataFrame) -> None:
    """Refuse rows no likelihood can take (also the time-course model's, :mod:`crpsmeta.models.time_course`)."""
    if len(arms) == 0 and len(contrasts) == 0 and len(pains) == 0:
        raise ValueError("placebo_adjusted needs at least one responder count, contrast or single-arm pain change")
    if len(arms):
        n, y = arms["n"].to_numpy(), arms["responders"].to_numpy()
        if np.any(n <= 0) or np.any(y < 0) or np.any(y > n):
            raise ValueError("need 0 <= responders <= n and n > 0 in every arm")
        if not set(arms["arm"]) <= set(ARMS):
            raise ValueError("arm must be ketamine or placebo")
    for frame in (arms, contrasts, pains):
        if len(frame) and not set(frame["timepoint"]) <= set(TIMEPOINTS):
            raise ValueError(f"timepoint must be one of {TIMEPOINTS}")
    for frame in (contrasts, pains):
        if len(frame) and np.any(frame["se"].to_numpy() <= 0):
            raise ValueError("contrast and pain-change standard errors must be > 0")


def placebo_adjusted_model(
    arms: pd.DataFrame,
    contrasts: pd.DataFrame,
    *,
    priors: dict[str, Prior],
    definition_offset_sd: float,
    reference_definition: str = REFERENCE_DEFINITION,
    pains: pd.DataFrame | None = None,
    studies: list[str] | None = None,
    definitions: list[str] | None = None,
) -> pm.Model:
    """Build the placebo-adjusted model.

    Parameters
    ----------
    arms : DataFrame
        One row per study x arm x timepoint with responder counts: ``study_id,
        arm, timepoint, n, responders, definition_class, nonrandomised``.
    contrasts : DataFrame
        One row per controlled study x timepoint with a continuous contrast
        converted to a log odds ratio: ``study_id, timepoint, log_or, se``
        (ketamine versus placebo; positive favours ketamine).
    priors : dict
        A :class:`~crpsmeta.models.priors.Prior` for each name in :data:`PRIOR_NAMES`.
    definition_offset_sd : float
        SD of the Normal(0, sd) prior on each non-reference definition offset.
    reference_definition : str
        The definition class the estimands refer to.
    pains : DataFrame, optional
        One row per arm x timepoint with a pain change: ``study_id, arm,
        timepoint, d, se, nonrandomised`` (``d`` = standardised mean improvement).
    studies, definitions : list of str, optional
        The model's studies and non-reference definition classes, when they are more than the rows
        show: a study without rows keeps its parameters, drawn from their prior (a leave-one-study-out
        refit by likelihood mask, :func:`crpsmeta.models.build.build_model`, has the full fit's shapes and
        so shares its compiled model).
    """
    pains = (
        pains
        if pains is not None
        else pd.DataFrame(columns=["study_id", "arm", "timepoint", "d", "se", "nonrandomised"])
    )
    check_rows(arms, contrasts, pains)
    missing = set(PRIOR_NAMES) - set(priors)
    if missing:
        raise ValueError(f"missing priors: {', '.join(sorted(missing))}")
    observed = list(
        dict.fromkeys(
            list(arms.get("study_id", [])) + list(contrasts.get("study_id", [])) + list(pains.get("study_id", []))
        )
    )
    studies = list(studies) if studies is not None else observed
    if not set(observed) <= set(studies):
        raise ValueError(f"rows of studies not in the model's studies: {sorted(set(observed) - set(studies))}")
    s_idx = {s: i for i, s in enumerate(studies)}
    t_idx = {t: i for i, t in enumerate(TIMEPOINTS)}
    seen = set(arms.get("definition_class", [])) - {reference_definition}
    definitions = sorted(seen) if definitions is None else [c for c in definitions if c != reference_definition]
    if not seen <= set(definitions):
        raise ValueError(f"definition classes not in the model's definitions: {sorted(seen - set(definitions))}")
    d_idx = {c: i + 1 for i, c in enumerate(definitions)}  # 0 = reference

    coords = {
        "study": studies,
        "timepoint": list(TIMEPOINTS),
        "definition": definitions,
        "arm_obs": [f"{r.study_id}/{r.arm}/{r.timepoint}" for r in arms.itertuples()],
        "contrast_obs": [f"{r.study_id}/{r.timepoint}" for r in contrasts.itertuples()],
        "pain_obs": [f"{r.study_id}/{r.arm}/{r.timepoint}" for r in pains.itertuples()],
    }
    arm_rows = np.column_stack(
        [
            np.array([s_idx[s] for s in arms.get("study_id", [])], dtype="int64"),
            np.array([t_idx[t] for t in arms.get("timepoint", [])], dtype="int64"),
            np.array([d_idx.get(c, 0) for c in arms.get("definition_class", [])], dtype="int64"),
            (arms.get("arm", pd.Series([], dtype=str)) == KETAMINE).to_numpy().astype("int64"),
            np.asarray(arms.get("nonrandomised", []), dtype="int64"),
            np.asarray(arms.get("n", []), dtype="int64"),
            np.asarray(arms.get("responders", []), dtype="int64"),
        ]
    ).reshape(len(arms), len(ARM_FIELDS))
    contrast_rows = np.column_stack(
        [
            np.array([s_idx[s] for s in contrasts.get("study_id", [])], dtype="float64"),
            np.array([t_idx[t] for t in contrasts.get("timepoint", [])], dtype="float64"),
            np.asarray(contrasts.get("se", []), dtype="float64"),
            np.asarray(contrasts.get("log_or", []), dtype="float64"),
        ]
    ).reshape(len(contrasts), len(CONTRAST_FIELDS))
    pain_rows = np.column_stack(
        [
            np.array([s_idx[s] for s in pains["study_id"]], dtype="float64"),
            np.array([t_idx[t] for t in pains["timepoint"]], dtype="float64"),
            (pains["arm"] == KETAMINE).to_numpy().astype("float64"),
            np.asarray(pains["nonrandomised"], dtype="float64"),
            np.asarray(pains["se"], dtype="float64"),
            np.asarray(pains["d"], dtype="float64"),
        ]
    ).reshape(len(pains), len(PAIN_FIELDS))
    hyper = HyperparameterData(
        {name: priors[name] for name in PRIOR_NAMES},
        constants={"definition_offset_prior_sd": float(definition_offset_sd)},
    )
    coords.update(arm_field=list(ARM_FIELDS), contrast_field=list(CONTRAST_FIELDS), pain_field=list(PAIN_FIELDS))
    with pm.Model(coords=coords) as model:
        # The rows' data in three matrices (a column per field, named as the record's reader asks for it,
        # crpsmeta.fitting.record.constant_data) and the priors' hyperparameters in one vector: nutpie compiles
        # a helper per pm.Data node, so four nodes compile faster than a node per column (benchmarks/RESULTS.md).
        arm = pm.Data("arm_data", arm_rows, dims=("arm_obs", "arm_field"))
        arm_study, arm_time, arm_def = arm[:, 0], arm[:, 1], arm[:, 2]
        arm_ket, arm_nonrand = pt.cast(arm[:, 3], "float64"), pt.cast(arm[:, 4], "float64")
        n, y_obs = arm[:, 5], arm[:, 6]
        contrast = pm.Data("contrast_data", contrast_rows, dims=("contrast_obs", "contrast_field"))
        c_study, c_time = pt.cast(contrast[:, 0], "int64"), pt.cast(contrast[:, 1], "int64")
        c_se, c_obs = contrast[:, 2], contrast[:, 3]
        pain = pm.Data("pain_data", pain_rows, dims=("pain_obs", "pain_field"))
        p_study, p_time = pt.cast(pain[:, 0], "int64"), pt.cast(pain[:, 1], "int64")
        p_ket, p_nonrand, p_se, p_obs = pain[:, 2], pain[:, 3], pain[:, 4], pain[:, 5]
        hyper.register()
        offset_sd = hyper["definition_offset_prior_sd"]

        placebo_mu = priors["placebo_mu"].register("placebo_mu", hyper, dims="timepoint")
        effect_mu = priors["effect_mu"].register("effect_mu", hyper)
        persistence = priors["persistence"].register("persistence", hyper)
        tau = priors["tau"].register("tau", hyper)
        tau_placebo = priors["tau_placebo"].register("tau_placebo", hyper)
        rho = priors["rho"].register("rho", hyper)
        design_bias = priors["design_bias"].register("design_bias", hyper)
        pain_threshold = priors["pain_threshold"].register("pain_threshold", hyper)
        offset_raw = pm.Normal("definition_offset_z", 0.0, 1.0, dims="definition")
        offset = pm.Deterministic("definition_offset", offset_sd * offset_raw, dims="definition")
        offsets = pt.concatenate([pt.zeros(1), offset])

        effect = pm.Deterministic("effect", pt.stack([effect_mu, persistence * effect_mu]), dims="timepoint")
        # study effects correlated across timepoints (non-centred)
        u_raw = pm.Normal("u_raw", 0.0, 1.0, dims=("study", "timepoint"))
        v_raw = pm.Normal("v_raw", 0.0, 1.0, dims=("study", "timepoint"))
        root = pt.sqrt(1.0 - rho**2)
        u = pt.stack([u_raw[:, 0], rho * u_raw[:, 0] + root * u_raw[:, 1]], axis=1)
        v = pt.stack([v_raw[:, 0], rho * v_raw[:, 0] + root * v_raw[:, 1]], axis=1)
        delta = pm.Deterministic("study_effect", effect[None, :] + tau * u, dims=("study", "timepoint"))
        alpha = pm.Deterministic("study_placebo", placebo_mu[None, :] + tau_placebo * v, dims=("study", "timepoint"))

        eta = (
            alpha[arm_study, arm_time]
            + arm_ket * delta[arm_study, arm_time]
            + arm_nonrand * design_bias
            + offsets[arm_def]
        )
        pm.Binomial("y", n=n, logit_p=eta, observed=y_obs, dims="arm_obs")
        pm.Normal("contrast", mu=delta[c_study, c_time], sigma=c_se, observed=c_obs, dims="contrast_obs")
        eta_pain = alpha[p_study, p_time] + p_ket * delta[p_study, p_time] + p_nonrand * design_bias
        pm.Normal(
            "pain", mu=(np.sqrt(3.0) / np.pi) * (eta_pain + pain_threshold), sigma=p_se, observed=p_obs, dims="pain_obs"
        )

        placebo_rate = pm.Deterministic("placebo_response_rate", pm.math.invlogit(placebo_mu), dims="timepoint")
        ketamine_rate = pm.Deterministic(
            "ketamine_response_rate", pm.math.invlogit(placebo_mu + effect), dims="timepoint"
        )
        pm.Deterministic("risk_difference", ketamine_rate - placebo_rate, dims="timepoint")
        pm.Deterministic("odds_ratio", pt.exp(effect), dims="timepoint")
    return model
