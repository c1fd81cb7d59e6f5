"""Rule validation_simulate: one replicate's truth (drawn from the prior) and the rows its fit reads."""

import json

from crpsmeta.calibration.simulate import simulate_replicate
from crpsmeta.runlog import logged

sim = snakemake.params.simulation
with logged(snakemake.log[0]):
    used, truth, raw = simulate_replicate(
        sim["model"], sim["design"], sim["priors"], sim["seed"], reference_definition=sim["reference_definition"]
    )
    used.to_csv(snakemake.output.used, index=False)
    record = {
        "scenario": snakemake.wildcards.scenario,
        "replicate": snakemake.wildcards.rep,
        "model": sim["model"],
        "prior_set": sim["prior_set"],
        "seed": sim["seed"],
        "design": sim["design"],
        "parameters": truth,
        "raw": raw,
    }
    with open(snakemake.output.truth, "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=1)
    print(f"{len(used)} rows simulated; truth: {json.dumps(truth)}")
