"""One compiled model per structure: prior families as data, leave-one-study-out refits by likelihood mask,
and fits that share a compiled model giving the draws of a fresh compile."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytest
from conftest import FAST_SAMPLER, ROOT

from crpsmeta.fitting.sampling import (
    SamplerSettings,
    clear_compiled_cache,
    compiled_cache_info,
    sample_model,
    structure_key,
)
from crpsmeta.models.build import build_model
from crpsmeta.models.priors import (
    HalfCauchy,
    HalfNormal,
    LogNormal,
    Normal,
    PositiveScale,
    RobustNormal,
    prior_from_dict,
    shared_slot,
)

SCALES = {
    "half_normal": {"family": "half_normal", "scale": 0.7},
    "half_cauchy": {"family": "half_cauchy", "scale": 0.3},
    "lognormal": {"family": "lognormal", "meanlog": -0.915, "sdlog": 0.76},
}


def _logp(prior, values) -> np.ndarray:
    with pm.Model() as model:
        rv = prior.register("x")
    fn = model.compile_fn(pm.logp(rv, model.rvs_to_values[rv]), point_fn=False, mode="FAST_COMPILE")
    return np.array([fn(np.asarray(v)) for v in values])


@pytest.mark.parametrize("family", list(SCALES))
def test_a_positive_slot_has_the_density_and_draws_of_the_family_it_stands_for(family):
    plain = prior_from_dict(SCALES[family])
    slot = shared_slot(plain, list(SCALES))
    assert isinstance(slot, PositiveScale) and slot.candidates[int(slot.family_index)] == family
    values = [0.01, 0.2, 0.9, 3.0, 12.0]
    np.testing.assert_allclose(_logp(slot, values), _logp(plain, values), rtol=1e-10)
    # draws: the chosen family's (the median of 4,000 draws within 5 % of the family's own)
    with pm.Model():
        drawn = pm.draw(slot.register("x"), draws=4000, random_seed=1)
    with pm.Model():
        reference = pm.draw(plain.register("x"), draws=4000, random_seed=2)
    assert np.all(drawn > 0)
    assert abs(np.median(drawn) / np.median(reference) - 1) < 0.05
    assert str(slot) == str(plain)


def test_a_normal_in_a_robust_slot_is_the_mixture_with_weight_one():
    plain = Normal(-0.49, 0.6)
    slot = shared_slot(plain, ["normal", "robust_normal"])
    assert isinstance(slot, RobustNormal) and slot.weight == 1.0
    values = [-3.0, -0.49, 0.0, 2.5]
    np.testing.assert_allclose(_logp(slot, values), _logp(plain, values), rtol=1e-10)


def test_slots_that_cannot_share_keep_their_own_family():
    assert shared_slot(Normal(0, 1), None) == Normal(0, 1)
    assert shared_slot(HalfNormal(1), ["half_normal"]) == HalfNormal(1)
    assert shared_slot(Normal(0, 1), ["normal", "half_normal"]) == Normal(0, 1)  # no common form


def _pooled(y, n, ids, mu, tau, families):
    used = pd.DataFrame({"study_id": ids, "responders": y, "n": n})
    return build_model("pooled_rate", used, {"mu": mu, "tau": tau}, {"prior_families": families})


def test_prior_sets_of_other_families_share_one_compiled_model_and_its_draws_are_a_fresh_compiles():
    """tau ~ half-normal in one prior set and log-normal in another: one structure, and the second fit,
    swapped into the first one's compiled model, gives exactly the draws of compiling it afresh."""
    families = {"tau": ["half_normal", "lognormal"]}
    first = _pooled(
        [5, 14, 9, 20],
        [10, 20, 30, 25],
        list("ABCD"),
        {"family": "normal", "mean": 0, "sd": 1.5},
        SCALES["half_normal"],
        families,
    )

    def second():
        return _pooled(
            [1, 3, 8, 2],
            [12, 9, 40, 30],
            list("PQRS"),
            {"family": "normal", "mean": -1, "sd": 0.7},
            SCALES["lognormal"],
            families,
        )

    assert structure_key(first) == structure_key(second())
    without = _pooled(
        [5, 14, 9, 20],
        [10, 20, 30, 25],
        list("ABCD"),
        {"family": "normal", "mean": 0, "sd": 1.5},
        SCALES["lognormal"],
        {},
    )
    assert structure_key(without) != structure_key(second()), "without the shared slot, families differ in structure"
    settings = SamplerSettings(**{**FAST_SAMPLER, "backend": "nutpie"}, cores=2)
    clear_compiled_cache()
    fresh = sample_model(second(), settings, 7)
    clear_compiled_cache()
    sample_model(first, settings, 7)
    reused = sample_model(second(), settings, 7)
    assert compiled_cache_info()["reused"] == 1 and reused.posterior.attrs["compiled_model"] == "reused"
    for group in ("posterior", "log_likelihood", "posterior_predictive", "prior"):
        for name in fresh[group].data_vars:
            np.testing.assert_array_equal(reused[group][name].values, fresh[group][name].values, err_msg=name)
    clear_compiled_cache()


def _shipped_placebo_adjusted():
    """The shipped tables' placebo_adjusted rows and the shipped config's prior sets and options."""
    import yaml

    from crpsmeta.inputs.config import validate_config
    from crpsmeta.inputs.selection import model_inputs
    from crpsmeta.inputs.tables import load_tables
    from crpsmeta.plan import make_plan, model_options

    schemas = ROOT / "workflow" / "schemas"
    text = (ROOT / "config" / "config.yaml").read_text()
    config = validate_config(
        yaml.safe_load(text), yaml.safe_load((schemas / "config.schema.yaml").read_text()), "config.yaml", text
    )
    studies, outcomes = load_tables(
        ROOT / "data" / "studies.csv",
        ROOT / "data" / "outcomes.csv",
        yaml.safe_load((schemas / "studies.schema.yaml").read_text()),
        yaml.safe_load((schemas / "outcomes.schema.yaml").read_text()),
    )
    options = model_options(config, "placebo_adjusted")
    used, _ = model_inputs(
        studies,
        outcomes,
        model="placebo_adjusted",
        unit="joint",
        options=options,
        timepoints=tuple(config["timepoints"]),
    )
    return config, make_plan(config, studies, outcomes), used, options


def test_every_fit_of_a_shipped_fit_job_is_one_structure():
    """The shipped placebo_adjusted fit under every prior set (several families of tau and placebo_mu among
    them) and its leave-one-study-out refits: one structure, so a job compiles it once."""
    from crpsmeta.plan import fit_batches, prior_families
    from crpsmeta.registry import priors_block

    config, plan, used, options = _shipped_placebo_adjusted()
    families = prior_families(config, "placebo_adjusted")
    assert families, "the shipped prior sets put more than one family on some placebo_adjusted slot"
    batches = fit_batches(config, plan)
    fits = batches["placebo_adjusted_joint"] + batches["placebo_adjusted_joint_sensitivity"]
    keys = set()
    for spec in fits:
        opts = {**options, "prior_families": families}
        if spec.leave_out is not None:
            opts["leave_out"] = spec.leave_out
        keys.add(
            structure_key(
                build_model(
                    "placebo_adjusted",
                    used,
                    priors_block(config["prior_sets"][spec.prior_set], "placebo_adjusted"),
                    opts,
                )
            )
        )
    assert len(fits) == len(config["prior_sets"]) + len(plan.loso[("placebo_adjusted", "joint")]) and len(keys) == 1


def test_a_masked_study_keeps_its_parameters_and_loses_its_rows():
    config, _, used, options = _shipped_placebo_adjusted()
    priors = config["prior_sets"]["default"]["placebo_adjusted"]
    full = build_model("placebo_adjusted", used, priors, options)
    masked = build_model("placebo_adjusted", used, priors, {**options, "leave_out": "Sigtermans2009"})
    assert list(masked.coords["study"]) == list(full.coords["study"])
    assert list(masked.coords["definition"]) == list(full.coords["definition"])
    assert not any(
        label.startswith("Sigtermans2009/")
        for dim in ("arm_obs", "contrast_obs", "pain_obs")
        for label in masked.coords[dim]
    )
    kept = sum(len(full.coords[d]) for d in ("arm_obs", "contrast_obs", "pain_obs"))
    dropped = (used["study_id"] == "Sigtermans2009").sum()
    assert sum(len(masked.coords[d]) for d in ("arm_obs", "contrast_obs", "pain_obs")) == kept - dropped
    with pytest.raises(ValueError, match="contributes no row"):
        build_model("placebo_adjusted", used, priors, {**options, "leave_out": "NoSuchStudy"})


@pytest.mark.slow
def test_a_masked_refit_agrees_with_a_refit_without_the_study():
    """The posterior of the population parameters with a study's rows masked (its parameters kept, from their
    prior) equals the posterior with the study removed: every key estimand within 4 Monte Carlo SEs."""
    import arviz as az

    from crpsmeta.criticism.influence import leave_out

    config, _, used, options = _shipped_placebo_adjusted()
    priors = config["prior_sets"]["default"]["placebo_adjusted"]
    settings = SamplerSettings(backend="nutpie", chains=4, draws=2000, tune=1000, target_accept=0.99, prior_draws=100)
    study = "Sigtermans2009"
    masked = sample_model(build_model("placebo_adjusted", used, priors, {**options, "leave_out": study}), settings, 3)
    dropped = sample_model(build_model("placebo_adjusted", leave_out(used, study), priors, options), settings, 4)
    names = ["effect_mu", "persistence", "tau", "placebo_mu", "risk_difference", "ketamine_response_rate"]
    for name in names:
        a, b = az.extract(masked, var_names=name).values, az.extract(dropped, var_names=name).values
        se = np.hypot(az.mcse(masked, var_names=[name])[name].values, az.mcse(dropped, var_names=[name])[name].values)
        z = np.abs(a.mean(axis=-1) - b.mean(axis=-1)) / se
        assert np.all(z < 4), (name, z)


@pytest.mark.slow
def test_shipped_refits_and_prior_sets_swapped_into_one_compile_give_a_fresh_compiles_draws():
    """placebo_adjusted (the costly compile): a leave-one-out refit and another prior set's fit, sampled in
    the compiled model of the primary fit, give exactly the draws of compiling each afresh."""
    from crpsmeta.plan import prior_families

    config, _, used, options = _shipped_placebo_adjusted()
    families = prior_families(config, "placebo_adjusted")
    settings = SamplerSettings(**{**FAST_SAMPLER, "backend": "nutpie"}, cores=2)

    def model(prior_set, study=None):
        opts = {**options, "prior_families": families, **({"leave_out": study} if study else {})}
        return build_model("placebo_adjusted", used, config["prior_sets"][prior_set]["placebo_adjusted"], opts)

    variants = [("vague", None), ("default", "Patil2012")]
    fresh = []
    for prior_set, study in variants:
        clear_compiled_cache()
        fresh.append(sample_model(model(prior_set, study), settings, 9))
    clear_compiled_cache()
    sample_model(model("default"), settings, 9)
    for (prior_set, study), expected in zip(variants, fresh):
        got = sample_model(model(prior_set, study), settings, 9)
        assert got.posterior.attrs["compiled_model"] == "reused"
        for name in expected.posterior.data_vars:
            np.testing.assert_array_equal(got.posterior[name].values, expected.posterior[name].values, err_msg=name)
    assert compiled_cache_info()["compiled"] == 1
    clear_compiled_cache()


def test_shared_slots_draw_from_the_prior_of_their_config_family():
    """A prior-predictive draw under a half-Cauchy slot has the half-Cauchy's heavy tail, not a half-normal's."""
    slot = shared_slot(HalfCauchy(1.0), list(SCALES))
    with pm.Model():
        draws = pm.draw(slot.register("x"), draws=4000, random_seed=3)
    assert np.quantile(draws, 0.99) > 10  # half-normal(1): 2.6; half-Cauchy(1): 63.7
    assert shared_slot(LogNormal(0, 1), list(SCALES)).candidates == tuple(sorted(SCALES))


def test_a_fit_that_misses_its_ess_gate_is_sampled_again_with_more_draws_and_a_rerun_takes_the_same_path(tmp_path):
    """Draws sized to the gates: at 100 draws per chain the bulk-ESS gate of 300 cannot be met (2 chains x 100
    draws), so the fit is sampled again at 200, then 400, and stops there (max_draws); the cache then serves
    every attempt, and the re-run's record is the first run's."""
    import json

    from crpsmeta.fitting.cache import FitCache
    from crpsmeta.jobs import fit_one

    used = pd.DataFrame(
        {
            "study_id": list("ABCD"),
            "responders": [5, 14, 9, 20],
            "n": [10, 20, 30, 25],
            "responder_definition": ">= 30 % relief",
            "definition_class": "ge30pct",
            "design": "case_series",
            "verification": "primary",
        }
    )
    thresholds = {
        "r_hat": {"max": 1.05, "on_failure": "error"},
        "ess_bulk": {"min": 300, "on_failure": "warn"},
        "ess_tail": {"min": 10, "on_failure": "error"},
        "divergences": {"max": 5, "on_failure": "error"},
        "ebfmi": {"min": 0.1, "on_failure": "error"},
    }
    kwargs = dict(
        model="pooled_rate",
        unit="immediate",
        prior_set="default",
        used=used,
        priors={"mu": {"family": "normal", "mean": 0, "sd": 1.5}, "tau": {"family": "half_normal", "scale": 1}},
        options={},
        sampler={**FAST_SAMPLER, "draws": 100, "tune": 300},
        seed=3,
        thresholds=thresholds,
        summary={"prob": 0.95, "type": "equal_tailed", "threshold": 0.1, "timepoints": ["immediate"]},
        cache=FitCache(tmp_path),
        max_draws=400,
    )
    first = fit_one(**kwargs)
    attrs = first.idata.posterior.attrs
    assert json.loads(attrs["sampler"])["draws"] == 400 and attrs["draws_attempts"] == 3
    assert first.idata.posterior.sizes["draw"] == 400 and not first.reused
    assert first.error is None and first.estimands is not None
    again = fit_one(**kwargs)
    assert again.reused and again.idata.posterior.attrs["draws_attempts"] == 3
    np.testing.assert_array_equal(again.idata.posterior["mu"].values, first.idata.posterior["mu"].values)
    once = fit_one(**{**kwargs, "max_draws": 100})  # never more than draws: one attempt, the gate's warning
    assert once.idata.posterior.sizes["draw"] == 100 and once.warnings


def test_only_what_more_draws_can_fix_is_retried():
    from crpsmeta.jobs import short_of_gates

    def table(**values):
        limits = {"r_hat": ("max", 1.01), "ess_bulk": ("min", 400), "ess_tail": ("min", 400)}
        limits |= {"divergences": ("max", 0), "ebfmi": ("min", 0.3)}
        rows = []
        for name, (bound, threshold) in limits.items():
            value = values.get(
                name, {"r_hat": 1.0, "ess_bulk": 900, "ess_tail": 900, "divergences": 0, "ebfmi": 1}[name]
            )
            passed = value <= threshold if bound == "max" else value >= threshold
            rows.append({"diagnostic": name, "value": value, "bound": bound, "threshold": threshold, "passed": passed})
        return pd.DataFrame(rows)

    assert short_of_gates(table(), 1.25) == set()
    assert short_of_gates(table(ess_tail=450), 1.25) == {"ess_tail"}  # passes its gate, not with the margin
    assert short_of_gates(table(ess_tail=450), 1.0) == set()
    assert short_of_gates(table(r_hat=1.02, ess_bulk=300), 1.0) == {"r_hat", "ess_bulk"}
    assert short_of_gates(table(ess_bulk=300, divergences=2), 1.25) == set()  # longer chains keep diverging
    assert short_of_gates(table(ebfmi=0.1, r_hat=1.05), 1.25) == set()
