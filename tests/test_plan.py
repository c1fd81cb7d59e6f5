"""The fit plan's policies beyond the fits themselves (crpsmeta.plan): notes on what config asks for and the
plan does not do, the seeds, and the settings derived from config for the jobs. The fits themselves are
checked on every shape of table in test_any_valid_table.py."""

from __future__ import annotations

import copy

from crpsmeta import plan


def test_influence_of_a_model_not_fitted_is_said_not_silently_dropped(shipped_config, shipped_tables):
    cfg = copy.deepcopy(shipped_config)
    cfg["models"] = ["pooled_rate"]  # influence.model stays placebo_adjusted
    made = plan.make_plan(cfg, *shipped_tables)
    assert made.loso == {}
    assert any("criticism.influence.model is placebo_adjusted" in n for n in made.notes), made.notes
    assert not plan.make_plan(shipped_config, *shipped_tables).notes  # the shipped config asks for nothing undone


def test_influence_studies_that_contribute_to_no_fit_are_named(shipped_config, shipped_tables):
    cfg = copy.deepcopy(shipped_config)
    studies = sorted({s for v in plan.make_plan(cfg, *shipped_tables).loso.values() for s in v})
    cfg["criticism"]["influence"]["studies"] = [studies[0], "Nobody1999"]
    made = plan.make_plan(cfg, *shipped_tables)
    assert {s for v in made.loso.values() for s in v} == {studies[0]}
    assert any("Nobody1999" in n and studies[0] not in n for n in made.notes), made.notes


def test_seeds_are_stable_and_differ_by_every_label():
    base = plan.labelled_seed(1, "pooled_rate", "default", "immediate")
    assert base == plan.labelled_seed(1, "pooled_rate", "default", "immediate", {})
    others = {
        plan.labelled_seed(2, "pooled_rate", "default", "immediate"),
        plan.labelled_seed(1, "placebo_map", "default", "immediate"),
        plan.labelled_seed(1, "pooled_rate", "vague", "immediate"),
        plan.labelled_seed(1, "pooled_rate", "default", "followup"),
        plan.labelled_seed(1, "pooled_rate", "default", "immediate", {"study": "A"}),
        plan.check_seed(1, "pooled_rate", "default", "immediate"),
        plan.simulation_seed(1, "scenario", "001"),
    }
    assert base not in others and len(others) == 7
    # labels enter sorted by name, so the order a job lists its wildcards in does not matter
    assert plan.labelled_seed(1, "m", "s", "t", {"a": 1, "b": 2}) == plan.labelled_seed(
        1, "m", "s", "t", {"b": 2, "a": 1}
    )
    assert len(set(plan.child_seeds(base, 3))) == 3


def test_settings_for_the_jobs(shipped_config):
    cfg = copy.deepcopy(shipped_config)
    assert plan.sensitivity_sets({**cfg, "sensitivity_prior_sets": "all"}) == list(cfg["prior_sets"])
    assert plan.sensitivity_sets({**cfg, "sensitivity_prior_sets": ["vague"]}) == ["vague"]
    cfg["criticism"]["influence"]["on_gate_failure"] = "warn"
    assert {s["on_failure"] for s in plan.influence_thresholds(cfg).values()} == {"warn"}
    cfg["criticism"]["influence"]["on_gate_failure"] = "error"
    assert plan.influence_thresholds(cfg) == cfg["diagnostics"]
    thresholds = plan.validation_thresholds(cfg)
    assert thresholds["r_hat"] == {"max": cfg["validation"]["diagnostics"]["r_hat"], "on_failure": "warn"}
    assert thresholds["ess_bulk"] == {"min": cfg["validation"]["diagnostics"]["ess_bulk"], "on_failure": "warn"}


def test_fit_batches_hold_every_fit_of_the_run_once_in_jobs_by_structure(shipped_config, shipped_tables):
    """Every planned fit under every prior set, every leave-one-study-out refit and every fitted regression
    is in exactly one job; a job holds one model and fit unit (the regressions' job excepted), and the
    primary set's fits and the other sets' are in different jobs."""
    from crpsmeta.plan import fit_batches, labelled_seed, make_plan, sensitivity_sets

    config = shipped_config
    made = make_plan(config, *shipped_tables)
    batches = fit_batches(config, made)
    fits = [spec for specs in batches.values() for spec in specs]
    assert len(fits) == len(set(fits))
    sets = sensitivity_sets(config)
    expected = {(m, u, s, None) for m, u in made.fits for s in sets}
    expected |= {(m, u, config["prior_set"], study) for (m, u), studies in made.loso.items() for study in studies}
    expected |= {(p["model"], p["timepoint"], config["prior_set"], None) for p in made.regressions if p["fitted"]}
    assert {(f.model, f.unit, f.prior_set, f.leave_out) for f in fits} == expected
    for name, specs in batches.items():
        if name != "regressions":
            assert len({(f.model, f.unit) for f in specs}) == 1, name
            assert len({f.prior_set == config["prior_set"] for f in specs}) == 1, name
    # seeds are those of one job per fit (crpsmeta.plan.labelled_seed with the left-out study as "study")
    refit = next(f for f in fits if f.leave_out)
    assert refit.seed(config["seed"]) == labelled_seed(
        config["seed"], refit.model, refit.prior_set, refit.unit, {"study": refit.leave_out}
    )
    one_set = fit_batches({**config, "sensitivity_prior_sets": [config["prior_set"]]}, made)
    assert not any(name.endswith("_sensitivity") for name in one_set)
