"""Rule funnel_plot: funnel plot of one timepoint with the pooled line and the Egger-type line."""

import pandas as pd

from crpsmeta.figures.funnel import funnel_plot
from crpsmeta.fitting.record import read_record
from crpsmeta.models.priors import describe_prior
from crpsmeta.runlog import logged
from crpsmeta.summaries.regression import small_study_table

w, p, i = snakemake.wildcards, snakemake.params, snakemake.input
with logged(snakemake.log[0]):
    used = pd.read_csv(i.used, dtype={"study_id": str})
    pooled = read_record(i.pooled)
    egger = read_record(i.egger) if "egger" in i.keys() else None
    row = small_study_table(
        [{"timepoint": w.timepoint, "used": used, "idata": egger, "note": "Egger-type line not drawn"}],
        min_studies=p.min_studies,
        prob=p.interval["prob"],
        interval_type=p.interval["type"],
    ).iloc[0]
    summary = (
        f"Egger-type coefficient {row['median']:.2f} [{row['lower']:.2f}, {row['upper']:.2f}], "
        f"P(coefficient > 0) = {row['prob_gt_0']:.2f}, k = {row['k']}: {row['conclusion']}."
        if egger is not None
        else f"k = {row['k']}: {row['conclusion']}."
    )
    names = {"immediate": "at the end of infusion", "followup": "at 1-3 months"}
    fig = funnel_plot(
        used,
        timepoint_text=names[w.timepoint],
        pooled_mu=pooled.posterior["mu"].values,
        egger=egger,
        prob=p.interval["prob"],
        label=row["label"],
        summary=summary,
        prior_text=f"Coefficient prior {describe_prior(p.se_prior)}; mu and tau as pooled_rate.",
    )
    fig.savefig(snakemake.output.png, dpi=150)
    print(summary)
