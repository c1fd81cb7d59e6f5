# Model criticism: power-scaling prior sensitivity, the prior-sensitivity figure and
# leave-one-study-out influence refits of the primary model.


rule power_scaling:
    input:
        idata="results/fits/{model}/{timepoint}/idata.nc",
        diagnostics="results/diagnostics/{model}/{timepoint}/diagnostics.csv",
    output:
        table="results/sensitivity/power_scaling/{model}/{timepoint}/power_scaling.csv",
    log:
        "results/logs/power_scaling/{model}/{timepoint}.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        prior_set=prior_set_of,
        settings=config["criticism"]["power_scaling"],
    script:
        "../scripts/power_scaling.py"


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


rule leave_one_out_inputs:
    input:
        used="results/data/{model}/{timepoint}/used.csv",
    output:
        used="results/influence/data/{model}/{timepoint}/without_{study}/used.csv",
    log:
        "results/logs/leave_one_out_inputs/{model}/{timepoint}/without_{study}.log",
    conda:
        "../envs/crpsmeta.yaml"
    script:
        "../scripts/leave_one_out_inputs.py"


use rule fit as fit_leave_one_out with:
    input:
        used="results/influence/data/{model}/{timepoint}/without_{study}/used.csv",
        studies=STUDIES_CSV,
        outcomes=OUTCOMES_CSV,
    output:
        idata="results/influence/fits/{model}/{timepoint}/without_{study}/idata.nc",
    log:
        "results/logs/fit/influence/{model}/{timepoint}/without_{study}.log",


use rule diagnose as diagnose_leave_one_out with:
    input:
        idata="results/influence/fits/{model}/{timepoint}/without_{study}/idata.nc",
    output:
        table="results/influence/diagnostics/{model}/{timepoint}/without_{study}/diagnostics.csv",
    log:
        "results/logs/diagnose/influence/{model}/{timepoint}/without_{study}.log",
    params:
        thresholds=loso_thresholds(),
        prior_set=prior_set_of,


use rule summarize_fit as summarize_leave_one_out with:
    input:
        idata="results/influence/fits/{model}/{timepoint}/without_{study}/idata.nc",
        diagnostics="results/influence/diagnostics/{model}/{timepoint}/without_{study}/diagnostics.csv",
        used="results/influence/data/{model}/{timepoint}/without_{study}/used.csv",
    output:
        estimands="results/influence/summaries/{model}/{timepoint}/without_{study}/estimands.csv",
        studies="results/influence/summaries/{model}/{timepoint}/without_{study}/study_estimates.csv",
    log:
        "results/logs/summarize_fit/influence/{model}/{timepoint}/without_{study}.log",


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
