r"""The ``pooled_rate`` model (and ``placebo_map``, the same model on placebo arms) and its design case, the
meta-regressions.

``pooled_rate``: random-effects binomial-logit meta-analysis of single-arm
responder counts (the binomial-normal GLMM of Stijnen, Hamza and Oezdemir
2010, in Bayesian form):

.. math::

    y_i &\sim \mathrm{Binomial}(n_i, \operatorname{logit}^{-1}\theta_i) \\
    \theta_i &= \mu + \tau z_i, \quad z_i \sim \mathcal N(0, 1) \\
    \mu &\sim \text{prior}_\mu, \quad \tau \sim \text{prior}_\tau

with derived quantities ``pooled_rate`` :math:`=\operatorname{logit}^{-1}\mu`,
``predicted_rate`` :math:`=\operatorname{logit}^{-1}(\mu + \tau z_{new})` (the
rate in a new study), the shrunken ``study_rate`` and ``i2``
:math:`=\tau^2/(\tau^2 + s^2)` with :math:`s^2` the Higgins-Thompson typical
within-study variance of the logit proportions (descriptive only; it is not
part of the likelihood, which is the exact binomial).

Meta-regression and small-study effects on the ketamine responder rate.

Both extend the ``pooled_rate`` model (binomial-logit random effects on the
ketamine arms' responder counts, one fit per timepoint) with one study-level
covariate at a time (univariable: there are few studies):

.. math::

    y_i &\sim \mathrm{Binomial}(n_i, \operatorname{logit}^{-1}\theta_i) \\
    \theta_i &= \mu + (x_i - \bar x)^\top \beta + \tau z_i, \quad z_i \sim \mathcal N(0, 1) \\
    \mu, \tau &\sim \text{the prior set's pooled\_rate priors}, \quad
    \beta_j \sim \mathcal N(m, s) \text{ (config meta\_regression.coefficient\_priors)}

Covariates are **centred** at their mean over the studies in the fit, so
:math:`\mu` is the logit rate at the average covariate value and
:math:`\beta` the change in logit rate per unit of the covariate (per level,
against the reference level, for a categorical one: its indicator columns are
centred too). A study without the covariate is left out of that covariate's
fit (and listed as a gap).

Covariates (``COVARIATES``):

``dose``
    infusion rate in mg/kg/h: the midpoint of ``dose_min_mg_kg_h`` and
    ``dose_max_mg_kg_h`` in ``data/studies.csv`` (the one given when only one
    is). Studies reporting only mg/h or mg/day are left out (no body weight to
    convert with).
``days``
    infusion days (``days``; a mean where the source gives one).
``setting``
    where the infusions were given, grouped into levels by config (default:
    inpatient, with ICU counted as inpatient, versus outpatient).
``definition``
    the responder-definition class of the count, grouped into levels by config
    (default: ``partial`` relief, the reference, versus ``strict``: complete
    relief, pain free or full remission).
``se``
    the Egger-type small-study covariate: the standard error of the study's
    observed logit rate, :math:`\sqrt{1/(x+a) + 1/(n-x+a)}` with
    :math:`a = 0.5` added only to a study with a zero cell (metafor's
    ``escalc(measure = "PLO")`` default). A positive coefficient means smaller
    (less precise) studies report higher responder rates. The SE of a logit
    proportion depends on the proportion itself, so the test can be
    triggered by rates far from 50 % alone (the reason Peters et al. 2006
    prefer 1/n for binary outcomes); read it as a screening figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm

from crpsmeta.inputs.covariates import Design, covariate_of, design
from crpsmeta.models.priors import HyperparameterData, Prior

# The columns of the study_data matrix (pm.Data; coordinates of its study_field dimension).
STUDY_FIELDS = ("n", "responders")


def regression_model(responders, n, study_ids, dmat: Design, *, mu_prior, tau_prior, beta_prior):
    """The pooled_rate model plus ``theta_i += X_i beta`` (X centred; non-centred study effects).

    Posterior variables: ``mu`` (logit rate at the covariate mean), ``tau``
    (residual between-study SD), ``beta`` (dim ``term``), ``z``, ``theta``,
    ``study_rate``, ``rate_at_centre`` and ``odds_ratio`` (exp beta).
    Constant data: ``study_data`` (columns ``n``, ``responders``), ``X`` (centred), ``centre``.
    Prior hyperparameters are data (``beta_prior_sd``, ... in ``prior_hyperparameters``).
    """
    import pymc as pm

    responders = np.asarray(responders, dtype="int64")
    n = np.asarray(n, dtype="int64")
    if responders.size < 2:
        raise ValueError("a meta-regression needs at least two studies")
    if dmat.X.shape != (responders.size, len(dmat.terms)) or not dmat.terms:
        raise ValueError("design matrix must have one row per study and at least one term")
    if np.any(n <= 0) or np.any(responders < 0) or np.any(responders > n):
        raise ValueError("need 0 <= responders <= n and n > 0 in every study")
    coords = {"study": list(study_ids), "term": list(dmat.terms), "study_field": list(STUDY_FIELDS)}
    hyper = HyperparameterData({"mu": mu_prior, "tau": tau_prior, "beta": beta_prior})
    with pm.Model(coords=coords) as model:
        counts = pm.Data("study_data", np.column_stack([n, responders]), dims=("study", "study_field"))
        n_data, y_data = counts[:, 0], counts[:, 1]
        X = pm.Data("X", dmat.X, dims=("study", "term"))
        pm.Data("centre", dmat.centre, dims="term")
        hyper.register()
        mu = mu_prior.register("mu", hyper)
        tau = tau_prior.register("tau", hyper)
        beta = beta_prior.register("beta", hyper, dims="term")
        z = pm.Normal("z", 0.0, 1.0, dims="study")
        theta = pm.Deterministic("theta", mu + pm.math.dot(X, beta) + tau * z, dims="study")
        pm.Deterministic("study_rate", pm.math.invlogit(theta), dims="study")
        pm.Deterministic("rate_at_centre", pm.math.invlogit(mu))
        pm.Deterministic("odds_ratio", pm.math.exp(beta), dims="term")
        pm.Binomial("y", n=n_data, logit_p=theta, observed=y_data, dims="study")
    return model


def build_regression(model: str, used: pd.DataFrame, priors: dict, options: dict | None = None):
    """The PyMC model of a ``regression_<covariate>`` fit from its input rows.

    ``priors`` is the prior set's pooled_rate block (mu, tau); ``options``
    holds ``coefficient_prior`` (a prior mapping, default Normal(0, 1)) and
    ``levels`` (grouping of a categorical covariate's values).
    """
    from crpsmeta.models.build import prior_slots
    from crpsmeta.models.priors import prior_from_dict

    options = options or {}
    slot = prior_slots(options)
    covariate = covariate_of(model)
    dmat = design(used, covariate, options.get("levels"))
    beta = prior_from_dict(options.get("coefficient_prior", {"family": "normal", "mean": 0.0, "sd": 1.0}))
    return regression_model(
        used["responders"].to_numpy(),
        used["n"].to_numpy(),
        list(used["study_id"]),
        dmat,
        mu_prior=slot("mu", priors["mu"]),
        tau_prior=slot("tau", priors["tau"]),
        beta_prior=beta,
    )


def typical_within_variance(responders, n) -> float:
    """Higgins-Thompson typical within-study variance of logit proportions.

    Uses the usual large-sample variance ``1/(x + a) + 1/(n - x + a)`` with
    ``a = 0.5`` added only to studies with a zero cell (metafor's default).
    Returns NaN when fewer than two studies are given.
    """
    x = np.asarray(responders, dtype=float)
    n = np.asarray(n, dtype=float)
    if x.size < 2:
        return float("nan")
    add = np.where((x == 0) | (x == n), 0.5, 0.0)
    v = 1.0 / (x + add) + 1.0 / (n - x + add)
    w = 1.0 / v
    k = x.size
    return float((k - 1) * w.sum() / (w.sum() ** 2 - (w**2).sum()))


def pooled_rate_model(responders, n, study_ids, *, mu_prior: Prior, tau_prior: Prior) -> pm.Model:
    """Random-effects binomial-logit model of one arm's responder rate.

    Parameters
    ----------
    responders, n : array-like of int
        Responder counts and denominators, one per study.
    study_ids : sequence of str
        Labels of the ``study`` dimension.
    mu_prior, tau_prior : Prior
        Priors of the logit pooled rate and of the between-study SD. Their
        hyperparameters enter as data (``mu_prior_mean``, ... in ``prior_hyperparameters``).
    """
    responders = np.asarray(responders, dtype="int64")
    n = np.asarray(n, dtype="int64")
    if responders.size == 0:
        raise ValueError("pooled_rate needs at least one study with a responder count")
    if responders.shape != n.shape or len(study_ids) != n.size:
        raise ValueError("responders, n and study_ids must have the same length")
    if np.any(n <= 0) or np.any(responders < 0) or np.any(responders > n):
        raise ValueError("need 0 <= responders <= n and n > 0 in every study")

    coords = {"study": list(study_ids), "study_field": list(STUDY_FIELDS)}
    hyper = HyperparameterData({"mu": mu_prior, "tau": tau_prior})
    with pm.Model(coords=coords) as model:
        # counts in one matrix, hyperparameters in one vector: nutpie compiles a helper per pm.Data node
        counts = pm.Data("study_data", np.column_stack([n, responders]), dims=("study", "study_field"))
        n_data, y_data = counts[:, 0], counts[:, 1]
        s2 = pm.Data("typical_within_variance", typical_within_variance(responders, n))

        hyper.register()
        mu = mu_prior.register("mu", hyper)
        tau = tau_prior.register("tau", hyper)
        z = pm.Normal("z", 0.0, 1.0, dims="study")
        theta = pm.Deterministic("theta", mu + tau * z, dims="study")
        pm.Deterministic("study_rate", pm.math.invlogit(theta), dims="study")
        pm.Deterministic("pooled_rate", pm.math.invlogit(mu))
        z_new = pm.Normal("z_new", 0.0, 1.0)
        pm.Deterministic("predicted_rate", pm.math.invlogit(mu + tau * z_new))
        pm.Deterministic("i2", tau**2 / (tau**2 + s2))
        pm.Binomial("y", n=n_data, logit_p=theta, observed=y_data, dims="study")
    return model
