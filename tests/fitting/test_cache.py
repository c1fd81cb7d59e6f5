"""The content-addressed fit cache: the key moves with exactly what determines the draws, and a reused record
gives the summaries of a new fit, byte for byte."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import FAST_SAMPLER

from crpsmeta.fitting import cache as fit_cache
from crpsmeta.fitting.cache import FitCache, fit_cached, fit_key
from crpsmeta.fitting.sampling import fit
from crpsmeta.summaries.estimands import estimands_table

USED = pd.DataFrame({"study_id": ["A", "B", "C", "D"], "n": [10, 20, 30, 25], "responders": [5, 14, 9, 20]})
PRIORS = {"mu": {"family": "normal", "mean": 0.0, "sd": 1.5}, "tau": {"family": "half_normal", "scale": 1.0}}
SAMPLER = {**FAST_SAMPLER, "backend": "nutpie"}
BASE = dict(model="pooled_rate", used=USED, priors=PRIORS, options={}, sampler=SAMPLER, seed=7)


def key(**changes):
    return fit_key(**{**BASE, **changes})


def test_the_key_moves_with_each_input_that_determines_the_draws_and_no_other():
    base = key()
    assert key() == base  # stable
    changed = {
        "model": key(model="placebo_map"),
        "rows": key(used=USED.assign(responders=[5, 14, 9, 21])),
        "row order": key(used=USED.iloc[::-1]),
        "a study more": key(used=pd.concat([USED, USED.iloc[:1].assign(study_id="E")])),
        "prior value": key(priors={**PRIORS, "tau": {"family": "half_normal", "scale": 0.5}}),
        "prior family": key(priors={**PRIORS, "tau": {"family": "half_cauchy", "scale": 1.0}}),
        "options": key(options={"responder_definitions": ["ge50pct"]}),
        "sampler": key(sampler={**SAMPLER, "draws": SAMPLER["draws"] + 1}),
        "seed": key(seed=8),
        "code": key(code="another version of the model code"),
    }
    assert base not in changed.values() and len(set(changed.values())) == len(changed), changed
    # dict order is not content
    assert key(priors=dict(reversed(list(PRIORS.items())))) == base


def test_the_code_version_covers_the_model_code(monkeypatch, tmp_path):
    before = fit_cache.code_version()
    package = tmp_path / "crpsmeta"
    for entry in fit_cache.CODE:
        source = fit_cache.PACKAGE / entry
        target = package / entry
        if source.is_dir():
            for path in source.rglob("*.py"):
                (target / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
                (target / path.relative_to(source)).write_bytes(path.read_bytes())
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    monkeypatch.setattr(fit_cache, "PACKAGE", package)
    fit_cache.code_version.cache_clear()
    try:
        assert fit_cache.code_version() == before  # same files, same version
        model_file = package / "models" / "pooled_rate.py"
        model_file.write_text(model_file.read_text() + "\n# an edit\n")
        fit_cache.code_version.cache_clear()
        assert fit_cache.code_version() != before
    finally:
        fit_cache.code_version.cache_clear()


def test_a_reused_record_gives_the_summaries_of_a_new_fit_byte_for_byte(tmp_path):
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return fit(*args, **kwargs)

    store = FitCache(tmp_path / "cache")
    first, hit1 = fit_cached(counted, store, **BASE, attrs={"prior_set": "default", "timepoint": "immediate"})
    second, hit2 = fit_cached(counted, store, **BASE, attrs={"prior_set": "renamed", "timepoint": "immediate"})
    assert (hit1, hit2, len(calls)) == (False, True, 1)
    fresh, hit3 = fit_cached(fit, FitCache(None), **BASE, attrs={"prior_set": "default", "timepoint": "immediate"})
    assert not hit3

    def summary(idata):
        return estimands_table(idata, model="pooled_rate", prior_set="default", timepoint="immediate").to_csv()

    assert summary(second) == summary(first) == summary(fresh)
    # the job's own labels are stamped on the reused record, with the cache's word on it
    attrs = second.posterior.attrs
    assert attrs["prior_set"] == "renamed" and attrs["fit_cache"] == "hit"
    assert attrs["fit_cache_key"] == first.posterior.attrs["fit_cache_key"] == key()
    # one complete file per key, nothing half-written beside it
    files = sorted(p.name for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert files == [f"{key()}.nc"]
    # another seed is another fit
    _, hit4 = fit_cached(counted, store, **{**BASE, "seed": 8}, attrs={})
    assert not hit4 and len(calls) == 2


def test_a_disabled_cache_keeps_nothing(tmp_path):
    store = FitCache(None)
    assert store.load(key()) is None
    store.store(key(), object())  # no directory: nothing written, nothing raised
    assert not any(tmp_path.iterdir())


def test_config_fit_cache_defaults_to_on_and_takes_only_a_boolean(shipped_config):
    from conftest import load_schema

    from crpsmeta.inputs.config import validate_config
    from crpsmeta.inputs.issues import InputValidationError

    without = {k: v for k, v in shipped_config.items() if k != "fit_cache"}
    assert validate_config(without, load_schema("config"))["fit_cache"] is True
    with pytest.raises(InputValidationError, match="fit_cache"):
        validate_config({**shipped_config, "fit_cache": "yes"}, load_schema("config"))
