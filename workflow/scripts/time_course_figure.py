"""Rule time_course_figure: the difference over weeks since the end of infusion (time-course model), with the
curves it draws as a table."""

import pandas as pd

from crpsmeta.figures.decay import curve_table, difference_by_week_figure
from crpsmeta.figures.style import save_figure
from crpsmeta.fitting.record import read_record, record_prior_text
from crpsmeta.runlog import logged

p, out = snakemake.params, snakemake.output
with logged(snakemake.log[0]):
    idata = read_record(snakemake.input.idata)
    estimands = pd.read_csv(snakemake.input.estimands)
    half_life = estimands[estimands["estimand"] == "half_life"]
    curve = curve_table(idata, figure_weeks=p.figure_weeks, prob=p.interval["prob"])
    curve.to_csv(out.curve, index=False)
    fig = difference_by_week_figure(
        curve,
        pd.read_csv(snakemake.input.studies),
        threshold=p.threshold,
        prob=p.interval["prob"],
        half_life=half_life.iloc[0] if len(half_life) else None,
        prior_text=record_prior_text(idata),
    )
    save_figure(fig, out.png)
    print(curve[curve["quantity"] == "risk_difference"].iloc[::8].to_string(index=False))
