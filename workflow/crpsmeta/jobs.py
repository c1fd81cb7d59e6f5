"""Many fits in one process: sample (or take from the fit cache), gate and summarise each in turn.

A fit job of the workflow holds every fit of one model structure (:func:`crpsmeta.plan.fit_batches`):
a model at a fit unit under every prior set, and its leave-one-study-out refits. nutpie compiles the
structure for the first fit that samples, and every later one swaps its data and prior values into the
same compiled model (:func:`crpsmeta.fitting.sampling.structure_key`), which gives the draws of a fresh
compile (tests/fitting/test_batch.py). Each fit's record, convergence table and summaries are made while
its record is in memory, so no other process re-reads it for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from crpsmeta.fitting.cache import FitCache, fit_cached
from crpsmeta.fitting.diagnostics import DiagnosticsGateError, diagnostics_table, enforce_gate

# The gates that more draws can meet (divergences and E-BFMI are the geometry's, not the sample size's).
RETRIED = frozenset({"r_hat", "ess_bulk", "ess_tail"})


def short_of_gates(table: pd.DataFrame, ess_margin: float = 1.0) -> set[str]:
    """The diagnostics of a fit's gate table that more draws could fix: R-hat above its maximum, bulk or tail
    ESS below ``ess_margin`` times its minimum. Empty when the fit also fails a gate more draws cannot fix
    (divergences, E-BFMI): sampling longer would not make it pass."""
    failed = set(table.loc[~table["passed"], "diagnostic"])
    if failed - RETRIED:
        return set()
    ess = table[table["diagnostic"].isin(["ess_bulk", "ess_tail"])]
    short = set(ess.loc[ess["value"] < ess_margin * ess["threshold"], "diagnostic"])
    return (failed & RETRIED) | short


@dataclass
class FitOutcome:
    """What one fit of a batch gives: its record, its rows, its gate and (when it passed) its summaries."""

    label: str
    idata: object
    used: pd.DataFrame
    reused: bool
    diagnostics: pd.DataFrame
    warnings: list[str]
    error: str | None = None
    estimands: pd.DataFrame | None = None
    studies: pd.DataFrame | None = None


def fit_label(model: str, prior_set: str, unit: str, leave_out: str | None = None) -> str:
    """How messages name a fit: ``model/prior set/unit``, and the study left out if any."""
    return f"{model}/{prior_set}/{unit}" + (f" (study={leave_out})" if leave_out is not None else "")


def fit_one(
    *,
    model: str,
    unit: str,
    prior_set: str,
    used: pd.DataFrame,
    priors: dict,
    options: dict,
    sampler: dict,
    seed: int,
    thresholds: dict,
    summary: dict,
    cache: FitCache,
    cores: int = 1,
    leave_out: str | None = None,
    prior_families: dict | None = None,
    attrs: dict | None = None,
    summarise: bool = True,
    max_draws: int | None = None,
    ess_margin: float = 1.0,
) -> FitOutcome:
    """Sample one fit (or take its cached record), gate it and, when it passes, summarise it.

    ``used`` is the fit unit's rows; a leave-one-study-out refit (``leave_out``) masks its study's rows
    in the model (:func:`crpsmeta.models.build.build_model`) and is summarised on the rows it keeps.
    ``summary`` holds the interval (``prob``, ``type``), the risk-difference ``threshold`` and the
    ``timepoints`` (:func:`crpsmeta.summaries.estimands.fit_summaries`); ``summarise`` False skips the
    summaries (a regression's tables are drawn from its record by the regression rules).

    Draws are sized to the gates: a fit that misses its R-hat gate, or whose bulk or tail ESS is below
    ``ess_margin`` times its gate's minimum (:func:`short_of_gates`), is sampled again with twice
    ``sampler["draws"]``, and again, while that stays within ``max_draws`` per chain; each attempt
    is its own cached fit (same seed), so a re-run takes the same path. The record says how many draws it
    has (its ``sampler`` attribute) and ``draws_attempts`` how many attempts it took. A failed gate is returned in
    ``error``, not raised, so a job can report every failing fit before it stops.
    """
    from crpsmeta.fitting.sampling import fit
    from crpsmeta.inputs.selection import leave_out as without
    from crpsmeta.summaries.estimands import fit_summaries

    fit_options = dict(options)
    if prior_families:
        fit_options["prior_families"] = dict(prior_families)
    if leave_out is not None:
        fit_options["leave_out"] = leave_out
    label = fit_label(model, prior_set, unit, leave_out)
    attempt_sampler, attempts = dict(sampler), 0
    while True:
        attempts += 1
        idata, hit = fit_cached(
            fit,
            cache,
            model=model,
            used=used,
            priors=priors,
            options=fit_options,
            sampler=attempt_sampler,
            seed=seed,
            cores=cores,
            attrs={"prior_set": prior_set, "timepoint": unit, "draws_attempts": attempts, **(attrs or {})},
        )
        table = diagnostics_table(idata, thresholds, model=model, prior_set=prior_set, timepoint=unit)
        missed = short_of_gates(table, ess_margin)
        more = 2 * int(attempt_sampler["draws"])
        if not missed or max_draws is None or more > max_draws:
            break
        print(
            f"{label}: {', '.join(sorted(missed))} short of the gate (ESS margin {ess_margin:g}) at "
            f"{attempt_sampler['draws']} draws per chain; sampling again with {more}"
        )
        attempt_sampler = {**attempt_sampler, "draws": more}
    kept = without(used, leave_out) if leave_out is not None else used
    outcome = FitOutcome(label, idata, kept, hit, table, [])
    try:
        outcome.warnings = list(enforce_gate(table, label))
    except DiagnosticsGateError as exc:
        outcome.error = str(exc)
        return outcome
    if not summarise:
        return outcome
    outcome.estimands, outcome.studies = fit_summaries(
        idata,
        kept,
        model=model,
        prior_set=prior_set,
        timepoint=unit,
        prob=summary["prob"],
        interval_type=summary["type"],
        threshold=summary["threshold"],
        timepoints=tuple(summary["timepoints"]),
        time_course=summary.get("time_course"),
    )
    return outcome
