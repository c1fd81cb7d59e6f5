# Fits: one job per model structure (crpsmeta.plan.fit_batches). A job samples each of its fits (or takes
# it from the fit cache), writes its record, checks its convergence gate and writes its summaries, so nutpie
# compiles each structure once per job and no light job re-reads a record for its gate or summaries.
# Jobs: fit_<model>_<unit> (the primary fit and its leave-one-study-out refits), fit_<model>_<unit>_sensitivity
# (the other prior sets) and fit_regressions.


for batch, fits in fit_batches().items():

    rule:
        name:
            f"fit_{batch}"
        input:
            used=batch_inputs(fits),
            studies=STUDIES_CSV,
            outcomes=OUTCOMES_CSV,
        output:
            idata=batch_outputs(fits, "idata"),
            tables=batch_outputs(fits, "diagnostics", "estimands", "studies", "used"),
        log:
            f"results/logs/fit/{batch}.log",
        # the longest fit jobs first: on few cores they are the run's critical path
        priority: len(fits)
        conda:
            "../envs/crpsmeta.yaml"
        threads: config["sampler"]["threads"]
        resources:
            runtime=batch_runtime(fits),
            mem_mb=4000,
        params:
            fits=batch_fits(fits),
            sampler=sampler_settings(),
            max_draws=config["sampler"]["max_draws"],
            ess_margin=config["sampler"]["ess_margin"],
            summary=summary_options(),
            cache=fit_cache_dir(),
        script:
            "../scripts/fit_batch.py"
