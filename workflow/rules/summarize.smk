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


rule collect_sensitivity:
    input:
        estimands=per_set_paths("summaries", "estimands.csv"),
        studies=per_set_paths("summaries", "study_estimates.csv"),
        diagnostics=per_set_paths("diagnostics", "diagnostics.csv"),
    output:
        estimands="results/sensitivity/estimands.csv",
        studies="results/sensitivity/study_estimates.csv",
        diagnostics="results/sensitivity/diagnostics.csv",
    log:
        "results/logs/collect_sensitivity.log",
    conda:
        "../envs/crpsmeta.yaml"
    script:
        "../scripts/collect_summaries.py"


rule compare_models:
    input:
        unpack(comparison_inputs),
        diagnostics=fit_paths(
            "results/diagnostics/{model}/{timepoint}/diagnostics.csv", models=["pooled_rate", "placebo_adjusted"]
        ),
    output:
        loo="results/comparison/loo.csv",
        pareto_k="results/comparison/pareto_k.csv",
    log:
        "results/logs/compare_models.log",
    conda:
        "../envs/crpsmeta.yaml"
    script:
        "../scripts/compare_models.py"
