"""Figures of one fit: prior against posterior for its key parameters, and rank plots (Vehtari et al. 2021)."""

from __future__ import annotations

import math

import numpy as np

from crpsmeta.figures.style import plt


def key_parameters(idata) -> list[str]:
    """The top-level parameters a prior set sets (those in the record's log_prior group, else mu and tau)."""
    if "log_prior" in idata.groups():
        names = [v for v in idata.log_prior.data_vars if v != "definition_offset_z"]
    else:
        names = [v for v in ("mu", "tau") if v in idata.posterior]
    return [v for v in names if v in idata.posterior]


def prior_posterior_figure(idata, variables: list[str], *, title: str, prior_text: str = "") -> plt.Figure:
    """Prior (grey) against posterior (blue) density for each key parameter (and element)."""
    panels = []
    for var in variables:
        post = idata.posterior[var]
        extra = [d for d in post.dims if d not in ("chain", "draw")]
        if extra:
            for coord in post[extra[0]].values:
                panels.append(
                    (
                        f"{var}[{coord}]",
                        post.sel({extra[0]: coord}),
                        idata.prior[var].sel({extra[0]: coord})
                        if "prior" in idata.groups() and var in idata.prior
                        else None,
                    )
                )
        else:
            panels.append((var, post, idata.prior[var] if "prior" in idata.groups() and var in idata.prior else None))
    ncol = min(4, max(1, len(panels)))
    nrow = math.ceil(len(panels) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.4 * nrow + 0.9), squeeze=False)
    for ax, (name, post, prior) in zip(axes.ravel(), panels):
        p = np.asarray(post.values, dtype=float).ravel()
        q = np.asarray(prior.values, dtype=float).ravel() if prior is not None else np.array([])
        both = np.concatenate([p, q[np.isfinite(q)]])
        lo, hi = np.quantile(both, [0.005, 0.995])
        bins = np.linspace(lo, hi, 50) if hi > lo else 10
        if q.size:
            ax.hist(q, bins=bins, density=True, histtype="stepfilled", color="0.75", alpha=0.7, label="prior")
        ax.hist(p, bins=bins, density=True, histtype="step", color="tab:blue", lw=1.5, label="posterior")
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.text(
        0.01,
        0.01,
        "How to read: grey is the prior, blue the posterior (histogram densities on the "
        "central 99 % of both). A posterior that looks like its prior means the data say little about that "
        f"parameter. {prior_text}",
        fontsize=7,
        wrap=True,
        va="bottom",
    )
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
    return fig


def rank_figure(idata, variables: list[str], *, title: str) -> plt.Figure:
    """Rank plots per chain (Vehtari et al. 2021), ArviZ's plot_rank: flat, overlapping bars = chains agree."""
    import arviz as az

    axes = az.plot_rank(idata, var_names=variables, kind="bars", figsize=(11, 1.9 * max(2, len(variables))))
    fig = np.asarray(axes).ravel()[0].figure
    fig.suptitle(title, fontsize=10)
    fig.text(
        0.01,
        0.005,
        "How to read: the ranks of each chain's draws among all draws; if the chains sample "
        "the same distribution every bar is near the dashed line. Bars rising at one end or differing "
        "between chains mean a convergence problem.",
        fontsize=7,
        wrap=True,
        va="bottom",
    )
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    return fig
