r"""PyMC model builders.

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
"""

from __future__ import annotations

import numpy as np
import pymc as pm

from .priors import Prior

__all__ = ["pooled_rate_model", "typical_within_variance"]


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
    return float((k - 1) * w.sum() / (w.sum() ** 2 - (w ** 2).sum()))


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
        hyperparameters enter as ``pm.Data`` (``mu_prior_mean``, ...).
    """
    responders = np.asarray(responders, dtype="int64")
    n = np.asarray(n, dtype="int64")
    if responders.size == 0:
        raise ValueError("pooled_rate needs at least one study with a responder count")
    if responders.shape != n.shape or len(study_ids) != n.size:
        raise ValueError("responders, n and study_ids must have the same length")
    if np.any(n <= 0) or np.any(responders < 0) or np.any(responders > n):
        raise ValueError("need 0 <= responders <= n and n > 0 in every study")

    coords = {"study": list(study_ids)}
    with pm.Model(coords=coords) as model:
        n_data = pm.Data("n", n, dims="study")
        y_data = pm.Data("responders", responders, dims="study")
        s2 = pm.Data("typical_within_variance", typical_within_variance(responders, n))

        mu = mu_prior.register("mu")
        tau = tau_prior.register("tau")
        z = pm.Normal("z", 0.0, 1.0, dims="study")
        theta = pm.Deterministic("theta", mu + tau * z, dims="study")
        pm.Deterministic("study_rate", pm.math.invlogit(theta), dims="study")
        pm.Deterministic("pooled_rate", pm.math.invlogit(mu))
        z_new = pm.Normal("z_new", 0.0, 1.0)
        pm.Deterministic("predicted_rate", pm.math.invlogit(mu + tau * z_new))
        pm.Deterministic("i2", tau ** 2 / (tau ** 2 + s2))
        pm.Binomial("y", n=n_data, logit_p=theta, observed=y_data, dims="study")
    return model

