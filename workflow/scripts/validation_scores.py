"""Rule validation_scores: each replicate's intervals, coverage and SBC ranks in one scenario."""

import json

import pandas as pd

from crpsmeta.calibration.scoring import score_replicate
from crpsmeta.fitting.record import read_record
from crpsmeta.runlog import logged

with logged(snakemake.log[0]):
    scores, diagnostics = [], []
    for truth_path, idata_path, diag_path in zip(
        snakemake.input.truths, snakemake.input.idatas, snakemake.input.diagnostics
    ):
        with open(truth_path, encoding="utf-8") as fh:
            truth = json.load(fh)
        posterior = read_record(idata_path).posterior
        table = score_replicate(
            posterior, truth["parameters"], prob=snakemake.params.prob, sbc_draws=snakemake.params.sbc_draws
        )
        label = {"scenario": truth["scenario"], "model": truth["model"], "replicate": truth["replicate"]}
        scores.append(table.assign(**label))
        diagnostics.append(pd.read_csv(diag_path).assign(**label))
    scores = pd.concat(scores, ignore_index=True)
    front = ["scenario", "model", "replicate"]
    scores[front + [c for c in scores.columns if c not in front]].to_csv(snakemake.output.scores, index=False)
    diagnostics = pd.concat(diagnostics, ignore_index=True)
    diagnostics.to_csv(snakemake.output.diagnostics, index=False)
    print(
        f"{len(snakemake.input.idatas)} replicates scored; "
        f"{int((~diagnostics['passed'].astype(bool)).groupby(diagnostics['replicate']).any().sum())} "
        f"failed a convergence diagnostic"
    )
