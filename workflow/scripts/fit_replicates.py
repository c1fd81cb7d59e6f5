"""Rule fit_validation: every replicate of a validation scenario, fitted and gated in one process.

The replicates share one model structure (same design, so the same shapes),
so nutpie compiles the model once and each later replicate only swaps its data
in (crpsmeta.fitting.sampling.structure_key); the numbers are those of a fresh compile. Each replicate's
convergence table is written beside its record (every validation gate is a warning: the validation target
counts failed fits instead of stopping).
"""

import sys

import pandas as pd

from crpsmeta.fitting.diagnostics import diagnostics_table, enforce_gate
from crpsmeta.fitting.record import file_sha256, record_attrs, write_record
from crpsmeta.fitting.sampling import compiled_cache_info, fit
from crpsmeta.runlog import logged

with logged(snakemake.log[0]):
    for used_path, out_path, table_path, item in zip(
        snakemake.input.used, snakemake.output.idata, snakemake.output.diagnostics, snakemake.params.plan, strict=True
    ):
        used = pd.read_csv(used_path)
        digest = file_sha256(used_path)  # the fit records its data's SHA-256: here the replicate's rows
        idata = fit(
            snakemake.wildcards.model,
            used,
            snakemake.params.priors,
            snakemake.params.sampler,
            seed=item["seed"],
            cores=snakemake.threads,
            options=snakemake.params.options,
            attrs={
                "prior_set": snakemake.params.prior_set,
                "timepoint": snakemake.wildcards.timepoint,
                "replicate": item["rep"],
                "data_sha256": {"studies.csv": digest, "outcomes.csv": digest},
            },
        )
        write_record(idata, out_path)
        w = snakemake.wildcards
        table = diagnostics_table(
            idata,
            snakemake.params.thresholds,
            model=w.model,
            prior_set=snakemake.params.prior_set,
            timepoint=w.timepoint,
        )
        for warning in enforce_gate(table, f"{w.model}/{snakemake.params.prior_set}/{w.timepoint} (rep={item['rep']})"):
            print(warning, file=sys.stderr)
        table.to_csv(table_path, index=False)
        attrs = record_attrs(idata)
        print(
            f"replicate {item['rep']}: compiled model {attrs['compiled_model']}, "
            f"{attrs['sampling_seconds']} s compile and sampling"
        )
    print(f"nutpie models compiled and reused in this job: {compiled_cache_info()}")
