"""Rule funnel_plot: funnel plot of one timepoint with the pooled line and the Egger-type line."""

import pandas as pd

from crpsmeta.figures.funnel import funnel_plot, funnel_prior_text
from crpsmeta.figures.style import save_figure
from crpsmeta.fitting.record import read_record
from crpsmeta.runlog import logged
from crpsmeta.summaries.regression import small_study_sentence, small_study_table
from crpsmeta.vocabulary import WHEN

w, p, i = snakemake.wildcards, snakemake.params, snakemake.input
with logged(snakemake.log[0]):
    used = pd.read_csv(i.used, dtype={"study_id": str})
    pooled = read_record(i.pooled) if "pooled" in i.keys() else None  # no pooled line without pooled_rate
    egger = read_record(i.egger) if "egger" in i.keys() else None
    row = small_study_table(
        [{"timepoint": w.timepoint, "used": used, "idata": egger, "note": "Egger-type line not drawn"}],
        min_studies=p.min_studies,
        prob=p.interval["prob"],
        interval_type=p.interval["type"],
    ).iloc[0]
    summary = small_study_sentence(row, fitted=egger is not None)
    fig = funnel_plot(
        used,
        timepoint_text=f"at {WHEN[w.timepoint]}",
        pooled_mu=pooled.posterior["mu"].values if pooled is not None else None,
        egger=egger,
        prob=p.interval["prob"],
        label=row["label"],
        summary=summary,
        prior_text=funnel_prior_text(pooled, egger),
    )
    save_figure(fig, snakemake.output.png)
    print(summary)
