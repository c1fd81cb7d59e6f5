# The posterior report: results/report/index.html (self-contained) and the
# figures it adds; every figure and table registered for `snakemake --report`.


rule fit_figures:
    input:
        idata="results/fits/{model}/{timepoint}/idata.nc",
    output:
        prior_posterior=report(
            "results/report/fits/{model}/{timepoint}/prior_posterior.png",
            caption="../report/captions/prior_posterior.rst",
            category="4. Priors and posteriors",
            subcategory="{model}",
            labels={"model": "{model}", "fit": "{timepoint}"},
        ),
        rank=report(
            "results/report/fits/{model}/{timepoint}/rank.png",
            caption="../report/captions/rank.rst",
            category="5. Diagnostics",
            subcategory="rank plots",
            labels={"model": "{model}", "fit": "{timepoint}"},
        ),
    log:
        "results/logs/report/fit_figures/{model}/{timepoint}.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        sampler=sampler_settings(),
    script:
        "../scripts/fit_figures.py"


rule summary_of_findings:
    input:
        unpack(sof_inputs),
    output:
        table="results/report/summary_of_findings.csv",
        time_course=report(
            "results/report/time_course.png",
            caption="../report/captions/time_course.rst",
            category="1. Summary of findings",
        ),
        placebo_explained=report(
            "results/report/placebo_explained.png",
            caption="../report/captions/placebo_explained.rst",
            category="1. Summary of findings",
        ),
        effect_forest=report(
            "results/report/forest_placebo_adjusted.png",
            caption="../report/captions/effect_forest.rst",
            category="2. Forest plots",
        ),
    log:
        "results/logs/report/summary_of_findings.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        fits=PLAN.fits,
        prior_set=config["prior_set"],
        timepoints=config["timepoints"],
        interval=config["interval"],
        threshold=config["placebo_adjusted"]["risk_difference_threshold"],
        reference_definition=config["placebo_adjusted"]["reference_definition"],
        published_schema=SCHEMAS["published"],
    script:
        "../scripts/summary_of_findings.py"


rule report_page:
    input:
        unpack(report_inputs),
    output:
        html=report(
            "results/report/index.html",
            caption="../report/captions/index.rst",
            category="0. Posterior report",
        ),
    log:
        "results/logs/report/report_page.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        context=report_params,
    script:
        "../scripts/report_page.py"
