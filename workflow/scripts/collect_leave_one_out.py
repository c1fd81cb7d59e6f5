"""Rule collect_leave_one_out: change in each key estimand when each study is left out."""

from pathlib import Path

import pandas as pd

from crpsmeta.criticism.influence import influence_table, most_influential
from crpsmeta.figures.influence import influence_figure
from crpsmeta.figures.style import save_figure
from crpsmeta.runlog import logged

with logged(snakemake.log[0]):
    full = pd.read_csv(snakemake.input.full)
    refits, passed = {}, {}
    for est_path, diag_path in zip(snakemake.input.refits, snakemake.input.diagnostics):
        study = Path(est_path).parent.name.removeprefix("without_")
        refits[study] = pd.read_csv(est_path)
        passed[study] = bool(pd.read_csv(diag_path)["passed"].all())
    table = influence_table(full, refits, key_estimands=snakemake.params.key_estimands, passed=passed)
    top = most_influential(table)
    print(
        "Most influential study per estimand:\n"
        + top[["timepoint", "estimand", "left_out", "change"]].to_string(index=False)
    )
    table.to_csv(snakemake.output.table, index=False)
    top.to_csv(snakemake.output.top, index=False)
    fig = influence_figure(table, prob=snakemake.params.interval["prob"], prior_text=snakemake.params.prior_text)
    save_figure(fig, snakemake.output.png)
