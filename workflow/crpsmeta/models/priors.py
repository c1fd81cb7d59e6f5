"""Prior specifications as small value objects.

A prior knows its hyperparameters and how to create its PyMC random variable
from hyperparameters held as ``pm.Data``. Because hyperparameters are data,
a model built once can be re-sampled under another prior of the same family
without rebuilding or recompiling its graph.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

# PyMC is imported when a prior registers its variable, so that reading and describing priors (the
# workflow's planning, figure footers) does not load it.


@dataclass(frozen=True)
class Prior:
    """Base class: subclasses declare hyperparameters as dataclass fields."""

    family = "prior"

    def hyperparameters(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}

    def data_names(self, name: str) -> dict[str, str]:
        """Names of the ``pm.Data`` nodes holding the hyperparameters of ``name``."""
        return {h: f"{name}_prior_{h}" for h in self.hyperparameters()}

    def register(self, name: str, hyper: HyperparameterData | None = None, **kwargs):
        """Create the random variable ``name`` in the current model, its hyperparameters data.

        With ``hyper`` (the model's :class:`HyperparameterData`, which must hold this prior under ``name``) they
        are entries of its one data vector; without, each is a ``pm.Data`` node of its own, named
        ``<name>_prior_<hyper>`` (:meth:`data_names`).
        """
        import pymc as pm

        if hyper is not None:
            data = hyper.of(name)
        else:
            data = {
                h: pm.Data(node, value)
                for (h, value), node in zip(self.hyperparameters().items(), self.data_names(name).values())
            }
        return self._rv(pm, name, data, **kwargs)

    def _rv(self, pm, name, data, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"


# The one data vector of a model's prior hyperparameters (HyperparameterData) and its dimension, whose labels
# are the names a node of its own would have (``<name>_prior_<hyper>``).
HYPERPARAMETERS = "prior_hyperparameters"
HYPERPARAMETER_DIM = "prior_hyperparameter"


class HyperparameterData:
    """Every prior hyperparameter of a model (and any other prior constant) in one ``pm.Data`` vector.

    nutpie's compiled model reads each ``pm.Data`` node through a helper of its own, inlined into its
    log-density callback and compiled with it in every process: one vector costs one helper where a node per
    hyperparameter cost one each (with its rows packed too, ``placebo_adjusted`` went from 37 nodes to 4 and
    its compile from 30 s to 14 s; benchmarks/RESULTS.md). Entry ``<name>_prior_<hyper>`` (coordinate of
    dimension :data:`HYPERPARAMETER_DIM`) holds hyperparameter ``hyper`` of the prior registered as ``name``;
    values are swapped between fits of one structure like any data (:func:`set_hyperparameters`, or nutpie's
    ``with_data``).
    """

    def __init__(self, priors: dict[str, Prior], constants: dict[str, float] | None = None):
        self.labels: dict[str, int] = {}
        values = []
        for name, prior in priors.items():
            for value, label in zip(prior.hyperparameters().values(), prior.data_names(name).values()):
                self.labels[label] = len(values)
                values.append(float(value))
        for label, value in (constants or {}).items():
            if label in self.labels:
                raise ValueError(f"hyperparameter {label!r} given twice")
            self.labels[label] = len(values)
            values.append(float(value))
        self.priors = dict(priors)
        self.values = values
        self.node = None

    def register(self):
        """Create the data vector in the current model (its labels as the dimension's coordinates)."""
        import numpy as np
        import pymc as pm

        model = pm.modelcontext(None)
        model.add_coord(HYPERPARAMETER_DIM, list(self.labels))
        self.node = pm.Data(HYPERPARAMETERS, np.asarray(self.values, dtype="float64"), dims=HYPERPARAMETER_DIM)
        return self

    def __getitem__(self, label: str):
        if self.node is None:
            raise RuntimeError("register the hyperparameter data in a model first")
        return self.node[self.labels[label]]

    def of(self, name: str) -> dict:
        """The hyperparameters of the prior registered as ``name`` (hyperparameter -> scalar tensor)."""
        prior = self.priors[name]
        return {h: self[label] for h, label in prior.data_names(name).items()}


def hyperparameter_labels(pm_model) -> set[str]:
    """Every prior hyperparameter of ``pm_model`` by name (``<name>_prior_<hyper>``): nodes of their own and
    entries of its :class:`HyperparameterData` vector."""
    return set(pm_model.named_vars) | set(pm_model.coords.get(HYPERPARAMETER_DIM) or ())


def set_hyperparameters(pm_model, values: dict[str, float]) -> None:
    """Set hyperparameters of ``pm_model`` by name (``<name>_prior_<hyper>``), wherever each is held."""
    import numpy as np
    import pymc as pm

    labels = list(pm_model.coords.get(HYPERPARAMETER_DIM) or ())
    packed = {k: v for k, v in values.items() if k in labels}
    own = {k: v for k, v in values.items() if k not in packed}
    unknown = set(own) - {v.name for v in pm_model.data_vars}
    if unknown:
        raise KeyError(f"no hyperparameters {sorted(unknown)} in the model")
    new = {}
    if packed:
        vector = np.array(pm_model[HYPERPARAMETERS].get_value(), dtype="float64")
        for label, value in packed.items():
            vector[labels.index(label)] = value
        new[HYPERPARAMETERS] = vector
    with pm_model:
        pm.set_data({**new, **own})


@dataclass(frozen=True)
class Normal(Prior):
    mean: float
    sd: float
    family = "normal"

    def _rv(self, pm, name, data, **kwargs):
        return pm.Normal(name, mu=data["mean"], sigma=data["sd"], **kwargs)


@dataclass(frozen=True)
class HalfNormal(Prior):
    scale: float
    family = "half_normal"

    def _rv(self, pm, name, data, **kwargs):
        return pm.HalfNormal(name, sigma=data["scale"], **kwargs)


@dataclass(frozen=True)
class HalfCauchy(Prior):
    scale: float
    family = "half_cauchy"

    def _rv(self, pm, name, data, **kwargs):
        return pm.HalfCauchy(name, beta=data["scale"], **kwargs)


@dataclass(frozen=True)
class LogNormal(Prior):
    meanlog: float
    sdlog: float
    family = "lognormal"

    def _rv(self, pm, name, data, **kwargs):
        return pm.LogNormal(name, mu=data["meanlog"], sigma=data["sdlog"], **kwargs)


@dataclass(frozen=True)
class Beta(Prior):
    alpha: float
    beta: float
    family = "beta"

    def _rv(self, pm, name, data, **kwargs):
        return pm.Beta(name, alpha=data["alpha"], beta=data["beta"], **kwargs)


@dataclass(frozen=True)
class RobustNormal(Prior):
    """Robust mixture prior (Schmidli et al. 2014; RBesT's robustify):
    ``weight`` x Normal(mean, sd) + (1 - weight) x Normal(vague_mean, vague_sd)."""

    mean: float
    sd: float
    weight: float
    vague_mean: float
    vague_sd: float
    family = "robust_normal"

    def _rv(self, pm, name, data, **kwargs):
        import pytensor.tensor as pt

        w = pt.stack([data["weight"], 1.0 - data["weight"]])
        return pm.NormalMixture(
            name,
            w=w,
            mu=pt.stack([data["mean"], data["vague_mean"]]),
            sigma=pt.stack([data["sd"], data["vague_sd"]]),
            **kwargs,
        )


# Families that can share one slot of a compiled model, its family chosen by data (see shared_slot).
LOCATION_FAMILIES = ("normal", "robust_normal")
SCALE_FAMILIES = ("half_normal", "half_cauchy", "lognormal")


@dataclass(frozen=True)
class PositiveScale(Prior):
    """One of several positive families in one slot, the family chosen by a data index.

    ``family_index`` indexes ``candidates``; ``a`` and ``b`` are that family's parameters (scale and 1 for
    half_normal and half_cauchy; meanlog and sdlog for lognormal). The log density is a switch over the
    candidates' log densities, each computed with safe parameters when not chosen (so no branch makes a
    NaN gradient); draws come from the chosen family; the variable is sampled on the log scale, as each
    of these families is in PyMC. A model whose prior sets put, say, a lognormal and a half-normal on
    ``tau`` thus has one structure for all of them, compiled once.
    """

    family_index: float
    a: float
    b: float
    candidates: tuple = SCALE_FAMILIES
    family = "positive_scale"

    def hyperparameters(self) -> dict[str, float]:
        return {"family_index": float(self.family_index), "a": float(self.a), "b": float(self.b)}

    def __str__(self) -> str:
        chosen = self.candidates[int(self.family_index)]
        args = ("meanlog", "sdlog") if chosen == "lognormal" else ("scale",)
        values = (self.a, self.b)[: len(args)]
        return f"{_FAMILIES[chosen].__name__}({', '.join(f'{k}={v:g}' for k, v in zip(args, values))})"

    def _rv(self, pm, name, data, **kwargs):
        import pytensor.tensor as pt
        from pymc.distributions.transforms import log

        candidates = tuple(self.candidates)

        def branches(idx, a, b):
            """Each candidate's (chosen, distribution, support point), its parameters made safe when not chosen."""
            out = []
            for i, fam in enumerate(candidates):
                chosen = pt.eq(idx, i)
                a_i, b_i = pt.switch(chosen, a, 1.0), pt.switch(chosen, b, 1.0)
                if fam == "half_normal":
                    out.append((chosen, pm.HalfNormal.dist(sigma=a_i), a_i))
                elif fam == "half_cauchy":
                    out.append((chosen, pm.HalfCauchy.dist(beta=a_i), a_i))
                else:
                    out.append((chosen, pm.LogNormal.dist(mu=a_i, sigma=b_i), pt.exp(a_i + b_i**2 / 2)))
            return out

        def pick(pairs):
            result = pairs[-1][1]
            for chosen, value in reversed(pairs[:-1]):
                result = pt.switch(chosen, value, result)
            return result

        def logp(value, idx, a, b):
            return pick([(chosen, pm.logp(dist, value)) for chosen, dist, _ in branches(idx, a, b)])

        def support_point(rv, size, idx, a, b):
            point = pick([(chosen, point) for chosen, _, point in branches(idx, a, b)])
            return point if rv.ndim == 0 else pt.full_like(rv, point)

        def random(idx, a, b, rng=None, size=None):
            fam = candidates[int(idx)]
            if fam == "half_normal":
                return abs(rng.normal(0.0, a, size=size))
            if fam == "half_cauchy":
                return abs(a * rng.standard_cauchy(size=size))
            return rng.lognormal(a, b, size=size)

        return pm.CustomDist(
            name,
            data["family_index"],
            data["a"],
            data["b"],
            logp=logp,
            random=random,
            support_point=support_point,
            transform=log,
            **kwargs,
        )


_FAMILIES = {cls.family: cls for cls in (Normal, HalfNormal, HalfCauchy, LogNormal, Beta, RobustNormal)}


def shared_slot(prior: Prior, candidates) -> Prior:
    """``prior`` in a form every family of ``candidates`` (a slot's families across prior sets) shares.

    - Only one candidate, or families that cannot share a slot: ``prior`` itself.
    - normal and robust_normal: a robust mixture (a normal is the mixture with weight 1, whose second
      component then adds nothing to the density).
    - half_normal, half_cauchy, lognormal: :class:`PositiveScale` with the family as a data index.

    The density is the same function of the parameter as ``prior``'s; what is shared is the compiled
    model, so fits under every prior set of a model are one structure (nutpie compiles it once).
    """
    families = tuple(sorted(set(candidates or ())))
    if len(families) < 2 or prior.family not in families:
        return prior
    if set(families) <= set(LOCATION_FAMILIES):
        if isinstance(prior, Normal):
            return RobustNormal(prior.mean, prior.sd, 1.0, prior.mean, prior.sd)
        return prior
    if set(families) <= set(SCALE_FAMILIES):
        index = families.index(prior.family)
        if isinstance(prior, LogNormal):
            return PositiveScale(index, prior.meanlog, prior.sdlog, families)
        return PositiveScale(index, prior.scale, 1.0, families)
    return prior


def prior_from_dict(spec: dict) -> Prior:
    """Build a prior from a config mapping such as ``{"family": "normal", "mean": 0, "sd": 1.5}``."""
    spec = dict(spec)
    family = spec.pop("family")
    try:
        cls = _FAMILIES[family]
    except KeyError:
        raise ValueError(f"unknown prior family {family!r}; known: {', '.join(_FAMILIES)}") from None
    return cls(**{k: float(v) for k, v in spec.items()})


def describe_prior(spec: dict) -> str:
    """A config prior mapping as figure footers write it, e.g. ``Normal(mean=0, sd=1.5)``."""
    return str(prior_from_dict(spec))


def describe_priors(prior_set: str, block: dict) -> str:
    """One line naming a prior set and the priors of one model's block, for figure footers."""
    parts = ", ".join(
        f"{name} ~ {describe_prior(spec)}" if isinstance(spec, dict) else f"{name} = {spec:g}"
        for name, spec in block.items()
    )
    return f"Prior set '{prior_set}': {parts}."
