"""Rule forest_plot: forest plot of one fit."""

import pandas as pd

from crpsmeta.figures.forest import forest_plot
from crpsmeta.registry import pooled_arm
from crpsmeta.runlog import logged

w = snakemake.wildcards
with logged(snakemake.log[0]):
    estimands = pd.read_csv(snakemake.input.estimands)
    studies = pd.read_csv(snakemake.input.studies)
    names = {"immediate": "at the end of infusion", "followup": "at 1-3 months"}
    arm = pooled_arm(w.model)
    if arm is None:
        raise ValueError(
            f"a forest plot of pooled responder rates needs a model that pools one arm; {w.model} does not"
        )
    arm = arm.capitalize()
    estimands = estimands.replace(
        {"estimand": {"predicted_placebo_rate": "predicted_rate", "pooled_placebo_rate": "pooled_rate"}}
    )
    fig = forest_plot(
        studies,
        estimands,
        title=f"{arm} responder rate {names[w.timepoint]} ({w.model}, random-effects binomial-logit)",
        prob=snakemake.params.interval["prob"],
        interval_type=snakemake.params.interval["type"],
        prior_text=snakemake.params.prior_text,
        xlabel=f"Responder rate ({arm.lower()} arm)",
    )
    fig.savefig(snakemake.output.png, dpi=150)
