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

    def register(self, name: str, **kwargs):
        """Create the hyperparameter data nodes and the random variable in the current model."""
        import pymc as pm

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


_FAMILIES = {cls.family: cls for cls in (Normal, HalfNormal, HalfCauchy, LogNormal, Beta, RobustNormal)}


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
