"""The InferenceData record: groups, predictive consistency, seeds, both samplers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import FAST_SAMPLER

from crpsmeta.fitting.record import constant_data
from crpsmeta.fitting.sampling import SamplerSettings, sample_model
from crpsmeta.models.pooled_rate import pooled_rate_model
from crpsmeta.models.priors import HalfNormal, Normal
from crpsmeta.plan import fit_seed

Y, N = [5, 14, 9, 20], [10, 20, 30, 25]


def fit(backend="pymc", seed=11):
    model = pooled_rate_model(Y, N, ["A", "B", "C", "D"], mu_prior=Normal(0, 1.5), tau_prior=HalfNormal(1))
    return sample_model(
        model,
        SamplerSettings(**{**FAST_SAMPLER, "backend": backend}, cores=2),
        seed,
        attrs={"model": "pooled_rate", "priors": {"x": 1}},
    )


@pytest.fixture(scope="module")
def idata():
    return fit()


def test_record_has_every_group(idata):
    for group in (
        "posterior",
        "sample_stats",
        "log_likelihood",
        "prior",
        "prior_predictive",
        "posterior_predictive",
        "observed_data",
        "constant_data",
    ):
        assert group in idata.groups(), group
    assert list(idata.observed_data["y"].values) == Y
    assert list(constant_data(idata, "n")) == N and list(constant_data(idata, "responders")) == Y
    assert idata.log_likelihood["y"].shape[-1] == len(Y)
    attrs = idata.posterior.attrs
    assert json.loads(attrs["priors"]) == {"x": 1} and "pymc" in json.loads(attrs["versions"])


def check_predictive_is_posterior(idata):
    """Replicated counts must centre on n x the posterior study rate, not on prior draws."""
    rep = idata.posterior_predictive["y"].mean(("chain", "draw")).values
    expected = np.asarray(N) * idata.posterior["study_rate"].mean(("chain", "draw")).values
    np.testing.assert_allclose(rep, expected, atol=0.6)


def test_posterior_predictive_uses_posterior(idata):
    check_predictive_is_posterior(idata)


def test_nutpie_backend_gives_the_same_record_and_posterior(idata):
    other = fit("nutpie")
    check_predictive_is_posterior(other)
    assert set(idata.groups()) <= set(other.groups())
    a = idata.posterior["pooled_rate"].values.ravel()
    b = other.posterior["pooled_rate"].values.ravel()
    # same posterior: means agree within Monte Carlo error (sd / sqrt(ESS ~ 300)) x 4
    assert abs(a.mean() - b.mean()) < 4 * a.std() / np.sqrt(300)


def test_same_seed_same_draws_other_seed_other_draws(idata):
    again = fit(seed=11)
    np.testing.assert_array_equal(idata.posterior["mu"].values, again.posterior["mu"].values)
    np.testing.assert_array_equal(idata.posterior_predictive["y"].values, again.posterior_predictive["y"].values)
    other = fit(seed=12)
    assert not np.array_equal(idata.posterior["mu"].values, other.posterior["mu"].values)


def test_fit_seed_is_stable_and_distinct():
    assert fit_seed(1, "pooled_rate", "default", "immediate") == fit_seed(1, "pooled_rate", "default", "immediate")
    seeds = {fit_seed(1, "pooled_rate", p, t) for p in ("default", "vague") for t in ("immediate", "followup")}
    assert len(seeds) == 4
    # labels that share a long prefix still get different seeds
    assert fit_seed(1, "pooled_rate", "default", "immediate") != fit_seed(
        1, "pooled_rate", "default_turner", "immediate"
    )
    assert fit_seed(1, "a", "bc") != fit_seed(1, "ab", "c")


def test_a_reused_compiled_model_gives_the_numbers_of_a_fresh_compile():
    """A second fit of the same structure reuses the first one's compiled model (other data, other prior
    values, other study labels) and gives exactly what compiling it afresh gives."""
    from crpsmeta.fitting.sampling import clear_compiled_cache, compiled_cache_info, structure_key

    settings = SamplerSettings(**{**FAST_SAMPLER, "backend": "nutpie"}, cores=2)

    def second():  # other counts, prior values and labels; same families and shapes
        return pooled_rate_model(
            [1, 3, 8, 2], [12, 9, 40, 30], ["P", "Q", "R", "S"], mu_prior=Normal(-1, 0.7), tau_prior=HalfNormal(0.4)
        )

    first = pooled_rate_model(Y, N, ["A", "B", "C", "D"], mu_prior=Normal(0, 1.5), tau_prior=HalfNormal(1))
    assert structure_key(first) == structure_key(second())
    clear_compiled_cache()
    fresh = sample_model(second(), settings, 5)
    assert fresh.posterior.attrs["compiled_model"] == "new"
    clear_compiled_cache()
    sample_model(first, settings, 5)
    reused = sample_model(second(), settings, 5)
    assert compiled_cache_info() == {"compiled": 1, "reused": 1, "cached": 1}
    assert reused.posterior.attrs["compiled_model"] == "reused"
    for group in ("posterior", "log_likelihood", "posterior_predictive"):
        for name in fresh[group].data_vars:
            np.testing.assert_array_equal(reused[group][name].values, fresh[group][name].values, err_msg=name)
    assert list(reused.posterior["study_rate"].coords["study"].values) == ["P", "Q", "R", "S"]
    assert list(reused.observed_data["y"].values) == [1, 3, 8, 2]
    clear_compiled_cache()


def test_structure_key_tells_apart_what_a_compiled_model_depends_on():
    from crpsmeta.fitting.sampling import structure_key
    from crpsmeta.models.priors import HalfCauchy

    base = structure_key(pooled_rate_model(Y, N, list("ABCD"), mu_prior=Normal(0, 1.5), tau_prior=HalfNormal(1)))
    # prior values and counts are data: same key
    assert base == structure_key(
        pooled_rate_model([0, 1, 2, 3], N, list("WXYZ"), mu_prior=Normal(2, 0.1), tau_prior=HalfNormal(3))
    )
    # another prior family, or another number of studies: another key
    assert base != structure_key(
        pooled_rate_model(Y, N, list("ABCD"), mu_prior=Normal(0, 1.5), tau_prior=HalfCauchy(1))
    )
    assert base != structure_key(
        pooled_rate_model(Y[:3], N[:3], list("ABC"), mu_prior=Normal(0, 1.5), tau_prior=HalfNormal(1))
    )


def test_reuse_holds_when_only_the_number_of_observations_changes():
    """Same parameters, another number of observed rows (as a replicate with a missing arm): one compile,
    and the numbers of a fresh compile."""
    import pymc as pm

    from crpsmeta.fitting.sampling import clear_compiled_cache, compiled_cache_info, structure_key

    def grouped(group, y, n):
        with pm.Model(coords={"group": ["a", "b", "c"], "obs": [f"o{i}" for i in range(len(y))]}) as model:
            g = pm.Data("group_idx", np.asarray(group, dtype="int64"), dims="obs")
            n_data = pm.Data("n", np.asarray(n, dtype="int64"), dims="obs")
            y_data = pm.Data("responders", np.asarray(y, dtype="int64"), dims="obs")
            mu = pm.Normal("mu", 0, 1.5)
            z = pm.Normal("z", 0, 1, dims="group")
            theta = pm.Deterministic("theta", mu + 0.5 * z, dims="group")
            pm.Binomial("y", n=n_data, logit_p=theta[g], observed=y_data, dims="obs")
        return model

    five = dict(group=[0, 1, 2, 0, 1], y=[3, 5, 2, 7, 1], n=[10, 12, 9, 14, 6])
    seven = dict(group=[0, 1, 2, 2, 0, 1, 2], y=[4, 2, 6, 1, 8, 3, 2], n=[10, 8, 12, 5, 15, 9, 7])
    assert structure_key(grouped(**five)) == structure_key(grouped(**seven))
    settings = SamplerSettings(**{**FAST_SAMPLER, "backend": "nutpie"}, cores=2)
    clear_compiled_cache()
    fresh = sample_model(grouped(**seven), settings, 3)
    clear_compiled_cache()
    sample_model(grouped(**five), settings, 3)
    reused = sample_model(grouped(**seven), settings, 3)
    assert compiled_cache_info()["reused"] == 1 and reused.posterior.attrs["compiled_model"] == "reused"
    for group in ("posterior", "log_likelihood", "posterior_predictive"):
        for name in fresh[group].data_vars:
            np.testing.assert_array_equal(reused[group][name].values, fresh[group][name].values, err_msg=name)
    assert reused.log_likelihood["y"].sizes["obs"] == 7
    clear_compiled_cache()


def test_nutpie_compiles_and_samples_without_fastmath(monkeypatch):
    """numba's fastmath makes a fresh compile and a cache-loaded one differ in the last bits (see the slow
    test below), so the sampler turns it off for nutpie's compile and sampling."""
    import nutpie
    import pytensor

    from crpsmeta.fitting import sampling

    seen = {}

    class Stop(Exception):
        pass

    def compiled(model, reuse):
        seen["compile"] = pytensor.config.numba__fastmath
        return object()

    def sample(*args, **kwargs):
        seen["sample"] = pytensor.config.numba__fastmath
        raise Stop

    before = pytensor.config.numba__fastmath
    monkeypatch.setattr(sampling, "_nutpie_compiled", compiled)
    monkeypatch.setattr(nutpie, "sample", sample)
    model = pooled_rate_model(Y, N, ["A", "B", "C", "D"], mu_prior=Normal(0, 1.5), tau_prior=HalfNormal(1))
    with pytest.raises(Stop):
        sampling.sample_posterior(model, SamplerSettings(backend="nutpie"), seed=1)
    assert seen == {"compile": False, "sample": False}
    assert pytensor.config.numba__fastmath == before  # the global setting is left as it was


FIRST_AND_RERUN = """
import hashlib, numpy as np
from crpsmeta.fitting.sampling import SamplerSettings, sample_posterior
from crpsmeta.models.pooled_rate import pooled_rate_model
from crpsmeta.models.priors import HalfNormal, Normal
model = pooled_rate_model({y}, {n}, ["A", "B", "C", "D"], mu_prior=Normal(0, 1.5), tau_prior=HalfNormal(1))
idata = sample_posterior(model, SamplerSettings(backend="nutpie", chains=2, draws=300, tune=300), seed=5)
print(hashlib.sha256(b"".join(np.ascontiguousarray(idata.posterior[v].values).tobytes()
                              for v in sorted(idata.posterior.data_vars))).hexdigest())
"""


@pytest.mark.slow
def test_first_run_and_rerun_give_identical_nutpie_draws(tmp_path):
    """The same nutpie fit in two processes: the first compiles into an empty cache, the second loads
    numba's cached functions. The draws must be bit-identical (they were not, with fastmath on)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'cache'}"}
    script = FIRST_AND_RERUN.format(y=Y, n=N)
    digests = [
        subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True, timeout=900
        ).stdout.split()[-1]
        for _ in range(2)
    ]
    assert (tmp_path / "cache" / "numba").exists()  # the second process did have a warm numba cache
    assert digests[0] == digests[1]


HASH_SEED_SCRIPT = """
import hashlib, numpy as np, pymc as pm
from crpsmeta.fitting.sampling import SamplerSettings, sample_model
with pm.Model() as model:
    mu = pm.Normal("mu", 0, 1)
    x = pm.Data("x", np.array([1.0, 2.0, 3.0]))  # every model of the workflow holds its data as pm.Data
    pm.Normal("a_count", mu * x, 1, observed=np.array([0.3, -0.2, 0.5]))
    pm.Poisson("b_count", pm.math.exp(mu), observed=np.array([1, 0, 2]))
    pm.Normal("c_count", 2 * mu, 1, observed=np.array([0.1, 0.4]))
idata = sample_model(model, SamplerSettings(chains=1, draws=100, tune=100, prior_draws=100), seed=3)
print(hashlib.sha256(b"".join(np.ascontiguousarray(idata.posterior_predictive[v].values).tobytes()
                              for v in sorted(idata.posterior_predictive.data_vars))).hexdigest())
"""


def test_posterior_predictive_draws_do_not_depend_on_string_hashing():
    """Same seed, same predictive draws in every process: Python salts string hashes per process
    (PYTHONHASHSEED), which reorders any set of variable names, and with it the random streams the predictive
    variables would draw from if they were taken in such an order."""
    import os
    import subprocess
    import sys

    digests = set()
    # under these two hash seeds a set of the three names iterates in different orders (a_count, c_count,
    # b_count and c_count, b_count, a_count with CPython 3.11)
    for hash_seed in ("0", "1"):
        done = subprocess.run(
            [sys.executable, "-c", HASH_SEED_SCRIPT],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            check=True,
        )
        digests.add(done.stdout.strip().splitlines()[-1])
    assert len(digests) == 1, digests
