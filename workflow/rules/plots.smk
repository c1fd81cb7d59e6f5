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
