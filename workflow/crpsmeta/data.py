"""From validated tables to model inputs."""

from __future__ import annotations

import pandas as pd

__all__ = ["responder_arms", "ALL_DEFINITIONS"]

ALL_DEFINITIONS = (
    "complete_relief", "pain_free", "full_remission", "ge30pct", "ge50pct",
    "ge2point_or_success", "meaningful", "any_relief",
)


def responder_arms(studies: pd.DataFrame, outcomes: pd.DataFrame, *, arm: str, timepoint: str,
                   definitions: str | list[str] = "all") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Responder counts of one arm at one timepoint, ready for a binomial model.

    Parameters
    ----------
    studies, outcomes : DataFrame
        Validated tables (see :func:`crpsmeta.validation.load_tables`).
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
    rows = outcomes[(outcomes["arm"] == arm) & (outcomes["timepoint"] == timepoint)
                    & (outcomes["measure"] == "responders")]
    rows = rows.merge(included, on="study_id", how="inner")
    has_count = rows["n"].notna() & rows["responders"].notna()
    keep_def = rows["definition_class"].isin(ALL_DEFINITIONS if definitions == "all" else list(definitions))
    used = rows.loc[has_count & keep_def, ["study_id", "n", "responders", "definition_class",
                                           "responder_definition", "design", "verification"]]
    used = used.astype({"n": int, "responders": int}).reset_index(drop=True)
    gaps = rows.loc[~(has_count & keep_def), ["study_id", "n", "responders", "responders_pct",
                                              "definition_class", "notes"]].copy()
    gaps["reason"] = ["no responder count or no denominator reported" if not c else
                      "responder definition not selected in config" for c in has_count[~(has_count & keep_def)]]
    return used, gaps.reset_index(drop=True)


RANDOMISED_DESIGNS = ("rct",)


def _sd(row) -> float | None:
    if pd.notna(row.get("pain_sd")):
        return float(row["pain_sd"])
    if pd.notna(row.get("pain_se")) and pd.notna(row.get("n")):
        from .conversions import sd_from_se

        return sd_from_se(float(row["pain_se"]), int(row["n"]))
    return None


def placebo_inputs(studies: pd.DataFrame, outcomes: pd.DataFrame, *, definitions: str | list[str] = "all",
                   continuous_contrast: str = "chinn") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Inputs of the placebo-adjusted model.

    Returns
    -------
    arms : DataFrame
        Responder counts of every included arm at both timepoints, with
        ``nonrandomised`` (1 for any design other than an RCT).
    contrasts : DataFrame
        Ketamine-versus-placebo pain contrasts of controlled studies, as a
        log odds ratio (positive favours ketamine) by Hedges' g and Chinn
        2000, with the arithmetic in ``derivation``. A study x timepoint that
        also has responder counts in both arms gives no contrast (the same
        patients are never entered twice). Empty when ``continuous_contrast``
        is ``"off"``.
    gaps : DataFrame
        Reported rows that enter no likelihood, with the reason.
    """
    from .conversions import log_or_from_smd, smd

    design = dict(zip(studies["study_id"], studies["design"]))
    frames, gap_frames = [], []
    for arm in ("ketamine", "placebo"):
        for tp in ("immediate", "followup"):
            used, gaps = responder_arms(studies, outcomes, arm=arm, timepoint=tp, definitions=definitions)
            frames.append(used.assign(arm=arm, timepoint=tp))
            gap_frames.append(gaps.assign(arm=arm, timepoint=tp))
    arms = pd.concat(frames, ignore_index=True)
    arms["nonrandomised"] = [int(design[s] not in RANDOMISED_DESIGNS) for s in arms["study_id"]]
    arms = arms[["study_id", "arm", "timepoint", "n", "responders", "definition_class", "nonrandomised",
                 "design", "verification"]]

    included = set(studies.loc[studies["include"].fillna(False).astype(bool), "study_id"])
    pain = outcomes[(outcomes["measure"] == "pain") & outcomes["study_id"].isin(included)]
    rows, used_pain = [], set()
    for (sid, tp), group in pain.groupby(["study_id", "timepoint"], sort=False):
        by_arm = {r["arm"]: r for _, r in group.iterrows()}
        if continuous_contrast == "off" or design[sid] not in ("rct", "nonrandomized_controlled"):
            continue
        if not {"ketamine", "placebo"} <= set(by_arm):
            continue
        both_counts = {a for a in ("ketamine", "placebo")
                       if ((arms["study_id"] == sid) & (arms["timepoint"] == tp) & (arms["arm"] == a)).any()}
        if both_counts == {"ketamine", "placebo"}:
            continue  # responder counts already carry these patients
        k, p = by_arm["ketamine"], by_arm["placebo"]
        sd_k, sd_p = _sd(k), _sd(p)
        if pd.isna(k["pain_mean"]) or pd.isna(p["pain_mean"]) or sd_k is None or sd_p is None:
            continue
        g, var_g = smd(float(k["pain_mean"]), sd_k, int(k["n"]), float(p["pain_mean"]), sd_p, int(p["n"]))
        log_or, var = log_or_from_smd(-g, var_g)  # less pain on ketamine -> positive log OR
        rows.append({"study_id": sid, "timepoint": tp, "log_or": log_or, "se": var ** 0.5,
                     "nonrandomised": int(design[sid] not in RANDOMISED_DESIGNS),
                     "derivation": (f"Hedges g = {g:.3f} (var {var_g:.4f}) from means {k['pain_mean']} vs "
                                    f"{p['pain_mean']}, SD {sd_k:.2f} vs {sd_p:.2f}, n {int(k['n'])} vs "
                                    f"{int(p['n'])}; log OR = -pi/sqrt(3) x g (Chinn 2000)")})
        used_pain.add((sid, tp))
    contrasts = pd.DataFrame(rows, columns=["study_id", "timepoint", "log_or", "se", "nonrandomised", "derivation"])
    pain_gaps = pain[[(s, t) not in used_pain for s, t in zip(pain["study_id"], pain["timepoint"])]]
    pain_gaps = pain_gaps[["study_id", "arm", "timepoint", "n", "notes"]].assign(
        reason="pain summary of a single arm (no within-study contrast), or contrast switched off")
    gaps = pd.concat([*gap_frames, pain_gaps], ignore_index=True)
    return arms, contrasts, gaps
