rule forest_plot:
    input:
        estimands="results/summaries/{model}/{timepoint}/estimands.csv",
        studies="results/summaries/{model}/{timepoint}/study_estimates.csv",
    output:
        png=report(
            "results/plots/{model}/forest_{timepoint}.png",
            caption="../report/captions/forest.rst",
            category="2. Forest plots",
        ),
    log:
        "results/logs/forest_plot/{model}/{timepoint}.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        prior_text=prior_text_for,
        interval=config["interval"],
    script:
        "../scripts/forest_plot.py"


rule time_course_figure:
    input:
        idata="results/fits/time_course/joint/idata.nc",
        studies="results/summaries/time_course/joint/study_estimates.csv",
        estimands="results/summaries/time_course/joint/estimands.csv",
    output:
        png=report(
            "results/time_course/difference_by_week.png",
            caption="../report/captions/decay.rst",
            category="1. Summary of findings",
        ),
        curve="results/time_course/curve.csv",
    log:
        "results/logs/time_course_figure.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        figure_weeks=config["time_course"]["figure_weeks"],
        threshold=config["placebo_adjusted"]["risk_difference_threshold"],
        interval=config["interval"],
    script:
        "../scripts/time_course_figure.py"
