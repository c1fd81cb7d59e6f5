"""Rule validation_simulate: every replicate of a scenario: its truth (drawn from the prior) and the rows its
fit reads (one process for the scenario; each replicate has its own seed)."""

import json

from crpsmeta.calibration.simulate import simulate_replicate
from crpsmeta.runlog import logged

sim = snakemake.params.simulation
with logged(snakemake.log[0]):
    for item, used_path, truth_path in zip(
        sim["replicates"], snakemake.output.used, snakemake.output.truth, strict=True
    ):
        used, truth, raw = simulate_replicate(
            sim["model"], sim["design"], sim["priors"], item["seed"], reference_definition=sim["reference_definition"]
        )
        used.to_csv(used_path, index=False)
        record = {
            "scenario": snakemake.wildcards.scenario,
            "replicate": item["rep"],
            "model": sim["model"],
            "prior_set": sim["prior_set"],
            "seed": item["seed"],
            "design": sim["design"],
            "parameters": truth,
            "raw": raw,
        }
        with open(truth_path, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=1)
        print(f"replicate {item['rep']}: {len(used)} rows simulated; truth: {json.dumps(truth)}")
