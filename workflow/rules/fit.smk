rule fit:
    input:
        used="results/data/{model}/{timepoint}/used.csv",
        studies=STUDIES_CSV,
        outcomes=OUTCOMES_CSV,
    output:
        idata="results/fits/{model}/{timepoint}/idata.nc",
    log:
        "results/logs/fit/{model}/{timepoint}.log",
    conda:
        "../envs/crpsmeta.yaml"
    threads: config["sampler"]["threads"]
    params:
        priors=priors_for,
        prior_set=prior_set_of,
        options=options_for,
        sampler=sampler_settings(),
        seed=seed_for,
        cache=fit_cache_dir(),
    script:
        "../scripts/fit.py"


use rule fit as fit_sensitivity with:
    output:
        idata="results/sensitivity/{prior_set}/fits/{model}/{timepoint}/idata.nc",
    log:
        "results/logs/fit/sensitivity/{prior_set}/{model}/{timepoint}.log",


rule diagnose:
    input:
        idata="results/fits/{model}/{timepoint}/idata.nc",
    output:
        table="results/diagnostics/{model}/{timepoint}/diagnostics.csv",
    log:
        "results/logs/diagnose/{model}/{timepoint}.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        thresholds=config["diagnostics"],
        prior_set=prior_set_of,
    script:
        "../scripts/diagnose.py"


use rule diagnose as diagnose_sensitivity with:
    input:
        idata="results/sensitivity/{prior_set}/fits/{model}/{timepoint}/idata.nc",
    output:
        table="results/sensitivity/{prior_set}/diagnostics/{model}/{timepoint}/diagnostics.csv",
    log:
        "results/logs/diagnose/sensitivity/{prior_set}/{model}/{timepoint}.log",
