rule summarize_fit:
    input:
        idata="results/fits/{model}/{timepoint}/idata.nc",
        diagnostics="results/diagnostics/{model}/{timepoint}/diagnostics.csv",
        used="results/data/{model}/{timepoint}/used.csv",
    output:
        estimands="results/summaries/{model}/{timepoint}/estimands.csv",
        studies="results/summaries/{model}/{timepoint}/study_estimates.csv",
    log:
        "results/logs/summarize_fit/{model}/{timepoint}.log",
    params:
        prior_set=prior_set_name(),
        interval=config["interval"],
    conda:
        "../envs/crpsmeta.yaml"
    script:
        "../scripts/summarize_fit.py"


rule collect_summaries:
    input:
        estimands=fit_paths("results/summaries/{model}/{timepoint}/estimands.csv"),
        studies=fit_paths("results/summaries/{model}/{timepoint}/study_estimates.csv"),
        diagnostics=fit_paths("results/diagnostics/{model}/{timepoint}/diagnostics.csv"),
    output:
        estimands="results/summaries/estimands.csv",
        studies="results/summaries/study_estimates.csv",
        diagnostics="results/diagnostics/diagnostics.csv",
    log:
        "results/logs/collect_summaries.log",
    conda:
        "../envs/crpsmeta.yaml"
    script:
        "../scripts/collect_summaries.py"
