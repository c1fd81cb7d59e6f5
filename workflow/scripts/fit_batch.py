"""Fit jobs (rules fit_<model>_<unit>, fit_regressions): every fit of one model structure in one process.

Each fit is sampled (or taken from the fit cache), its record written, its convergence gate checked and,
when it passes, its estimands and study estimates written. A fit that fails its gate stops the job after
every fit has been tried, naming each failure (Snakemake then removes the job's outputs).
"""

import sys

import pandas as pd

from crpsmeta.fitting.cache import FitCache
from crpsmeta.fitting.record import file_sha256, write_record
from crpsmeta.fitting.sampling import compiled_cache_info
from crpsmeta.jobs import fit_one
from crpsmeta.runlog import logged

p = snakemake.params
with logged(snakemake.log[0]):
    data_sha256 = {
        "studies.csv": file_sha256(snakemake.input.studies),
        "outcomes.csv": file_sha256(snakemake.input.outcomes),
    }
    cache, rows, failures = FitCache(p.cache), {}, []
    for item in p.fits:
        if item["used"] not in rows:
            rows[item["used"]] = pd.read_csv(item["used"])
        outcome = fit_one(
            model=item["model"],
            unit=item["unit"],
            prior_set=item["prior_set"],
            used=rows[item["used"]],
            priors=item["priors"],
            options=item["options"],
            sampler=p.sampler,
            seed=item["seed"],
            thresholds=item["thresholds"],
            summary=p.summary,
            cache=cache,
            cores=snakemake.threads,
            leave_out=item["leave_out"],
            prior_families=item["prior_families"],
            attrs={"data_sha256": data_sha256},
            summarise="estimands" in item["paths"],
            max_draws=p.max_draws,
            ess_margin=p.ess_margin,
        )
        out = item["paths"]
        write_record(outcome.idata, out["idata"])
        how = "reused from the fit cache" if outcome.reused else "sampled"
        print(f"== {outcome.label}: {how}")
        print(outcome.diagnostics.to_string(index=False))
        for warning in outcome.warnings:
            print(warning, file=sys.stderr)
        if outcome.error:
            print(f"ERROR: {outcome.error}", file=sys.stderr)
            failures.append(outcome.label)
            continue
        outcome.diagnostics.to_csv(out["diagnostics"], index=False)
        if "estimands" in out:
            outcome.estimands.to_csv(out["estimands"], index=False)
            outcome.studies.to_csv(out["studies"], index=False)
        if "used" in out:
            outcome.used.to_csv(out["used"], index=False)
    print(f"nutpie models compiled and reused in this job: {compiled_cache_info()}")
    if failures:
        print(f"ERROR: {len(failures)} fit(s) failed their convergence gate: {', '.join(failures)}", file=sys.stderr)
        sys.exit(1)
