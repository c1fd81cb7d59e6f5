# The posterior report: results/report/index.html (self-contained) and the
# figures it adds; every figure and table registered for `snakemake --report`.


rule summary_of_findings:
    input:
        unpack(sof_inputs),
    output:
        table="results/report/summary_of_findings.csv",
        certainty="results/report/certainty.csv",
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
        certainty=config["certainty"],
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
