"""From validated tables to model inputs.

Which rows each fit uses and which reported rows it cannot use (gaps, each with its reason):
:func:`model_inputs` for every model of :mod:`crpsmeta.registry`; the single-arm models pool one arm's
responder counts (:func:`responder_arms`), placebo_adjusted takes both arms, contrasts and pain
(:func:`placebo_inputs`).
"""

from __future__ import annotations

import pandas as pd

from crpsmeta.registry import MODELS, POOLED_ARM, REGRESSION_MODELS
from crpsmeta.vocabulary import (
    CONTRAST_ARM,
    CONTROLLED_DESIGNS,
    DEFINITION_CLASSES,
    KETAMINE,
    PLACEBO,
    RANDOMISED_DESIGNS,
    TIMEPOINTS,
)

ALL_DEFINITIONS = DEFINITION_CLASSES  # every responder-definition class (config "all")


def responder_arms(
    studies: pd.DataFrame, outcomes: pd.DataFrame, *, arm: str, timepoint: str, definitions: str | list[str] = "all"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Responder counts of one arm at one timepoint, ready for a binomial model.

    Parameters
    ----------
    studies, outcomes : DataFrame
        Validated tables (see :func:`crpsmeta.inputs.tables.load_tables`).
    arm : {"ketamine", "placebo"}
    timepoint : {"immediate", "followup"}
    definitions : "all" or list of str
        Responder-definition classes to keep.

    Returns
    -------
    used : DataFrame
        One row per study with ``study_id, n, responders, definition_class,
        responder_definition, design, verification``, in table order.
    gaps : DataFrame
        Responder rows of this arm and timepoint that cannot enter a binomial
        likelihood (no count or no denominator), or whose definition is not
        selected, with the reason.
    """
    included = studies.loc[studies["include"].fillna(False).astype(bool), ["study_id", "design"]]
    rows = outcomes[
        (outcomes["arm"] == arm) & (outcomes["timepoint"] == timepoint) & (outcomes["measure"] == "responders")
    ]
    rows = rows.merge(included, on="study_id", how="inner")
    has_count = rows["n"].notna() & rows["responders"].notna()
    keep_def = rows["definition_class"].isin(ALL_DEFINITIONS if definitions == "all" else list(definitions))
    used = rows.loc[
        has_count & keep_def,
        ["study_id", "n", "responders", "definition_class", "responder_definition", "design", "verification"],
    ]
    used = used.astype({"n": int, "responders": int}).reset_index(drop=True)
    gaps = rows.loc[
        ~(has_count & keep_def), ["study_id", "n", "responders", "responders_pct", "definition_class", "notes"]
    ].copy()
    gaps["reason"] = [
        "no responder count or no denominator reported" if not c else "responder definition not selected in config"
        for c in has_count[~(has_count & keep_def)]
    ]
    return used, gaps.reset_index(drop=True)


def arm_mean_sd(row) -> tuple[float, float, str] | None:
    """Mean and SD of an arm's pain score, with how they were obtained.

    A reported mean with its SD, or with its SE (SD = SE x sqrt(n)); else a
    median with quartiles converted by Wan et al. 2014. None otherwise.
    """
    from crpsmeta.inputs.conversions import mean_sd_from_median_iqr, sd_from_se

    mean, n = row.get("pain_mean"), row.get("n")
    if pd.notna(mean) and pd.notna(row.get("pain_sd")):
        return float(mean), float(row["pain_sd"]), "mean and SD as reported"
    if pd.notna(mean) and pd.notna(row.get("pain_se")) and pd.notna(n):
        return float(mean), sd_from_se(float(row["pain_se"]), int(n)), "SD = SE x sqrt(n)"
    quartiles = [row.get(c) for c in ("pain_median", "pain_q1", "pain_q3")]
    if all(pd.notna(q) for q in quartiles) and pd.notna(n):
        m, q1, q3 = (float(q) for q in quartiles)
        est_mean, est_sd = mean_sd_from_median_iqr(m, q1, q3, int(n))
        return est_mean, est_sd, f"mean and SD from median {m:g} (quartiles {q1:g}, {q3:g}), Wan et al. 2014"
    return None


def single_arm_pain(row) -> tuple[float, float, str] | None:
    """Standardised mean improvement of one arm, d = -change / SD(change), and its SE.

    Needs a mean change from baseline with its SD or SE (SD = SE x sqrt(n));
    Var(d) = 1/n + d^2 / (2n) (the one-sample analogue of the SMD variance).
    Returns None when the row does not report a change with its spread.
    """
    change, se, n = row.get("pain_change_mean"), row.get("pain_change_se"), row.get("n")
    if pd.isna(change) or pd.isna(se) or pd.isna(n):
        return None
    from crpsmeta.inputs.conversions import sd_from_se

    sd = sd_from_se(float(se), int(n))
    d = -float(change) / sd
    var = 1.0 / int(n) + d**2 / (2.0 * int(n))
    text = (
        f"SD of change = {float(se)} x sqrt({int(n)}) = {sd:.3f}; d = {-float(change)} / {sd:.3f} = {d:.3f}; "
        f"var = 1/{int(n)} + d^2/(2 x {int(n)}) = {var:.4f}"
    )
    return d, var**0.5, text


def placebo_inputs(
    studies: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    definitions: str | list[str] = "all",
    continuous_contrast: str = "chinn",
    single_arm_pain_mode: str = "latent",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Inputs of the placebo-adjusted model.

    Returns
    -------
    arms : DataFrame
        Responder counts of every included arm at both timepoints, with
        ``nonrandomised`` (1 for any design other than an RCT).
    contrasts : DataFrame
        Ketamine-versus-placebo pain contrasts of controlled studies, as a
        log odds ratio (positive favours ketamine) by Hedges' g and Chinn
        2000, with the arithmetic in ``derivation`` (``kind`` = contrast).
        A study x timepoint that also has responder counts in both arms gives
        no contrast (the same patients are never entered twice). None when
        ``continuous_contrast`` is ``"off"``. Also, with
        ``single_arm_pain_mode`` = ``"latent"``, arms whose pain change is
        reported (and which have no responder count at that timepoint) as a
        standardised mean improvement ``d`` with its ``se`` (``kind`` = pain).
    gaps : DataFrame
        Reported rows that enter no likelihood, with the reason.
    """
    from crpsmeta.inputs.conversions import log_or_from_smd, smd

    design = dict(zip(studies["study_id"], studies["design"]))
    frames, gap_frames = [], []
    for arm in (KETAMINE, PLACEBO):
        for tp in TIMEPOINTS:
            used, gaps = responder_arms(studies, outcomes, arm=arm, timepoint=tp, definitions=definitions)
            frames.append(used.assign(arm=arm, timepoint=tp))
            gap_frames.append(gaps.assign(arm=arm, timepoint=tp))
    arms = pd.concat(frames, ignore_index=True)
    arms["nonrandomised"] = [int(design[s] not in RANDOMISED_DESIGNS) for s in arms["study_id"]]
    arms = arms[
        [
            "study_id",
            "arm",
            "timepoint",
            "n",
            "responders",
            "definition_class",
            "nonrandomised",
            "design",
            "verification",
        ]
    ]

    included = set(studies.loc[studies["include"].fillna(False).astype(bool), "study_id"])
    pain = outcomes[(outcomes["measure"] == "pain") & outcomes["study_id"].isin(included)]
    rows, used_pain, contrast_gaps = [], set(), {}
    controlled = (
        pain[pain["study_id"].map(design).isin(CONTROLLED_DESIGNS)] if continuous_contrast != "off" else pain.iloc[0:0]
    )
    for (sid, tp), group in controlled.groupby(["study_id", "timepoint"], sort=False):
        by_arm = {r["arm"]: r for _, r in group.iterrows()}
        if not {KETAMINE, PLACEBO} <= set(by_arm):
            continue
        both_counts = {
            a
            for a in (KETAMINE, PLACEBO)
            if ((arms["study_id"] == sid) & (arms["timepoint"] == tp) & (arms["arm"] == a)).any()
        }
        if both_counts == {KETAMINE, PLACEBO}:
            continue  # responder counts already carry these patients
        k, p = by_arm[KETAMINE], by_arm[PLACEBO]
        est_k, est_p = arm_mean_sd(k), arm_mean_sd(p)
        if est_k is None or est_p is None or pd.isna(k["n"]) or pd.isna(p["n"]):
            for arm, row, est in ((KETAMINE, k, est_k), (PLACEBO, p, est_p)):
                contrast_gaps[(sid, tp, arm)] = "controlled pain contrast incomplete: " + (
                    "this arm has no mean with its SD or SE, nor a median with quartiles"
                    if est is None
                    else "this arm has no n"
                    if pd.isna(row["n"])
                    else "the other arm cannot be summarised"
                )
            continue
        (mean_k, sd_k, how_k), (mean_p, sd_p, how_p) = est_k, est_p
        g, var_g = smd(mean_k, sd_k, int(k["n"]), mean_p, sd_p, int(p["n"]))
        log_or, var = log_or_from_smd(-g, var_g)  # less pain on ketamine -> positive log OR
        rows.append(
            {
                "study_id": sid,
                "timepoint": tp,
                "log_or": log_or,
                "se": var**0.5,
                "nonrandomised": int(design[sid] not in RANDOMISED_DESIGNS),
                "derivation": (
                    f"Hedges g = {g:.3f} (var {var_g:.4f}) from means {mean_k:.3g} vs {mean_p:.3g}, "
                    f"SD {sd_k:.2f} vs {sd_p:.2f}, n {int(k['n'])} vs {int(p['n'])} (ketamine: "
                    f"{how_k}; placebo: {how_p}); log OR = -pi/sqrt(3) x g (Chinn 2000)"
                ),
            }
        )
        used_pain.add((sid, tp))
    for c in rows:
        c["kind"] = "contrast"
    used_arm_pain, reasons = set(), {}
    for _, row in pain.iterrows():
        key = (row["study_id"], row["timepoint"])
        if key in used_pain:
            continue
        has_count = (
            (arms["study_id"] == row["study_id"])
            & (arms["timepoint"] == row["timepoint"])
            & (arms["arm"] == row["arm"])
        ).any()
        result = single_arm_pain(row) if single_arm_pain_mode == "latent" and not has_count else None
        if result is None:
            reasons[(*key, row["arm"])] = contrast_gaps.get((*key, row["arm"])) or (
                "single-arm pain switched off"
                if single_arm_pain_mode == "off"
                else "the arm's responder count is used instead"
                if has_count
                else "no mean change with its SD or SE (levels or medians alone need a pre-post correlation)"
            )
            continue
        d, se, text = result
        rows.append(
            {
                "study_id": row["study_id"],
                "arm": row["arm"],
                "timepoint": row["timepoint"],
                "d": d,
                "se": se,
                "nonrandomised": int(design[row["study_id"]] not in RANDOMISED_DESIGNS),
                "kind": "pain",
                "derivation": text,
            }
        )
        used_arm_pain.add((*key, row["arm"]))
    contrasts = pd.DataFrame(
        rows, columns=["study_id", "arm", "timepoint", "kind", "log_or", "d", "se", "nonrandomised", "derivation"]
    )
    unused = [
        (s, t) not in used_pain and (s, t, a) not in used_arm_pain
        for s, t, a in zip(pain["study_id"], pain["timepoint"], pain["arm"])
    ]
    pain_gaps = pain.loc[pd.Series(unused, index=pain.index, dtype=bool)]
    pain_gaps = pain_gaps[["study_id", "arm", "timepoint", "n", "notes"]].copy()
    pain_gaps["reason"] = [
        reasons.get((s, t, a), "controlled pain contrast switched off or incomplete")
        for s, t, a in zip(pain_gaps["study_id"], pain_gaps["timepoint"], pain_gaps["arm"])
    ]
    gaps = pd.concat([*gap_frames, pain_gaps], ignore_index=True)
    return arms, contrasts, gaps


def model_inputs(
    studies: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    model: str,
    unit: str,
    options: dict | None = None,
    timepoints: tuple[str, ...] = TIMEPOINTS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows a fit uses and the reported rows it cannot use (gaps), with sources.

    ``options`` is the model's config section (``responder_definitions`` and,
    for placebo_adjusted, ``continuous_contrast``).
    """
    options = options or {}
    definitions = options.get("responder_definitions", "all")
    source_cols = ["study_id", "arm", "timepoint", "measure", "source", "derivation"]
    if model in POOLED_ARM:
        used, gaps = responder_arms(studies, outcomes, arm=POOLED_ARM[model], timepoint=unit, definitions=definitions)
        sources = outcomes[
            (outcomes["arm"] == POOLED_ARM[model])
            & (outcomes["timepoint"] == unit)
            & (outcomes["measure"] == "responders")
        ][["study_id", "source", "derivation"]]
        return used.merge(sources, on="study_id", how="left"), gaps
    if model == "time_course":  # placebo_adjusted's rows, each with the week it was observed at
        used, gaps = model_inputs(
            studies, outcomes, model="placebo_adjusted", unit=unit, options=options, timepoints=timepoints
        )
        return with_weeks(used, outcomes), gaps
    if model == "placebo_adjusted":
        arms, contrasts, gaps = placebo_inputs(
            studies,
            outcomes,
            definitions=definitions,
            continuous_contrast=options.get("continuous_contrast", "chinn"),
            single_arm_pain_mode=options.get("single_arm_pain", "latent"),
        )
        arms = arms[arms["timepoint"].isin(timepoints)]
        contrasts = contrasts[contrasts["timepoint"].isin(timepoints)]
        sources = outcomes[source_cols]
        arms = arms.merge(
            sources[sources["measure"] == "responders"].drop(columns="measure"),
            on=["study_id", "arm", "timepoint"],
            how="left",
        ).assign(kind="responders")
        pain_src = (
            sources[sources["measure"] == "pain"]
            .drop(columns=["measure", "derivation"])
            .drop_duplicates(["study_id", "timepoint"])
        )
        contrasts = contrasts.merge(pain_src.drop(columns="arm"), on=["study_id", "timepoint"], how="left")
        contrasts["arm"] = [
            (CONTRAST_ARM if k == "contrast" else a) for k, a in zip(contrasts["kind"], contrasts["arm"].astype(object))
        ]
        used = pd.concat([arms, contrasts], ignore_index=True)
        return used, gaps
    if model in REGRESSION_MODELS:  # pooled_rate's rows with one covariate; rows without it become gaps
        base = model_inputs(studies, outcomes, model="pooled_rate", unit=unit, options=options)
        return regression_rows(base, studies, model, options)
    raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")


def regression_rows(base: tuple[pd.DataFrame, pd.DataFrame], studies: pd.DataFrame, model: str, options: dict):
    """A regression's rows and gaps from pooled_rate's at its timepoint (``base``: rows, gaps): the rows with the
    covariate, and the gaps with the rows that lack it."""
    from crpsmeta.inputs.covariates import add_covariate, covariate_of

    rows, gaps = base
    used, left_out = add_covariate(rows, studies, covariate_of(model), options.get("levels"))
    return used, pd.concat([gaps, left_out], ignore_index=True)


def with_weeks(used: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """``used`` with ``weeks``: the weeks since the end of infusion its outcome row reports (NaN where the
    source gives none). A contrast takes the week of its study's pain rows at that timepoint (the ketamine
    arm's where both are given)."""
    measure = {"responders": "responders", "contrast": "pain", "pain": "pain"}
    weeks = []
    for row in used.itertuples():
        kind = getattr(row, "kind", "responders")
        rows = outcomes[
            (outcomes["study_id"] == row.study_id)
            & (outcomes["timepoint"] == row.timepoint)
            & (outcomes["measure"] == measure[kind])
        ]
        if kind != "contrast":
            rows = rows[rows["arm"] == row.arm]
        known = rows.sort_values("arm", key=lambda a: a != KETAMINE)["weeks"].dropna()
        weeks.append(float(known.iloc[0]) if len(known) else float("nan"))
    return used.assign(weeks=weeks)


def leave_out(used: pd.DataFrame, study_id: str) -> pd.DataFrame:
    """The rows of ``used`` without study ``study_id`` (which must be there)."""
    keep = used["study_id"].astype(str) != str(study_id)
    if keep.all():
        raise ValueError(
            f"study {study_id!r} contributes no row to this fit; known: "
            f"{', '.join(sorted(set(used['study_id'].astype(str))))}"
        )
    if not keep.any():
        raise ValueError(f"study {study_id!r} is the only study in this fit: nothing is left to fit")
    return used[keep].reset_index(drop=True)
