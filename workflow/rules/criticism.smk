# Model criticism: power-scaling prior sensitivity (each fit's table made by rule criticise_fit, checks.smk),
# the prior-sensitivity figure and leave-one-study-out influence refits of the primary model (made by the fit
# jobs, fit.smk).


rule collect_power_scaling:
    input:
        table=fit_paths("results/sensitivity/power_scaling/{model}/{timepoint}/power_scaling.csv"),
    output:
        table="results/sensitivity/power_scaling.csv",
    log:
        "results/logs/collect_power_scaling.log",
    conda:
        "../envs/crpsmeta.yaml"
    script:
        "../scripts/collect_summaries.py"


rule sensitivity_figure:
    input:
        estimands="results/sensitivity/estimands.csv",
    output:
        png=report(
            "results/sensitivity/estimands.png",
            caption="../report/captions/sensitivity.rst",
            category="6. Sensitivity",
        ),
    log:
        "results/logs/sensitivity_figure.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        key_estimands=config["criticism"]["key_estimands"],
        primary=config["prior_set"],
        interval=config["interval"],
    script:
        "../scripts/sensitivity_figure.py"


rule collect_leave_one_out:
    input:
        unpack(loso_inputs),
    output:
        table="results/influence/{model}/{timepoint}/leave_one_out.csv",
        top="results/influence/{model}/{timepoint}/most_influential.csv",
        png=report(
            "results/influence/{model}/{timepoint}/leave_one_out.png",
            caption="../report/captions/leave_one_out.rst",
            category="6. Sensitivity",
        ),
    log:
        "results/logs/collect_leave_one_out/{model}/{timepoint}.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        key_estimands=config["criticism"]["key_estimands"],
        interval=config["interval"],
        prior_text=prior_text_for,
    script:
        "../scripts/collect_leave_one_out.py"
