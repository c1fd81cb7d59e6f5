# Small-study effects (funnel plot, Egger-type regression) and meta-regression.
# The fits themselves are made and gated by the fit job fit_regressions (fit.smk:
# results/fits/regression_<covariate>/<timepoint>/); the rules here only summarise and draw them.


rule regression_meta_table:
    input:
        unpack(meta_regression_inputs),
    output:
        table="results/regression/meta_regression.csv",
    log:
        "results/logs/regression/meta_regression.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        plan=regression_plan_of(small_study=False),
        kind="meta_regression",
        min_studies=config["meta_regression"]["min_studies"],
        levels=config["meta_regression"]["levels"],
        interval=config["interval"],
    script:
        "../scripts/regression_tables.py"


use rule regression_meta_table as regression_small_study_table with:
    input:
        unpack(small_study_inputs),
    output:
        table="results/regression/small_study.csv",
    log:
        "results/logs/regression/small_study.log",
    params:
        plan=regression_plan_of(small_study=True),
        kind="small_study",
        min_studies=config["meta_regression"]["min_studies"],
        levels=config["meta_regression"]["levels"],
        interval=config["interval"],


rule regression_funnel:
    input:
        unpack(funnel_inputs),
    output:
        png=report(
            "results/regression/funnel_{timepoint}.png",
            caption="../report/captions/funnel.rst",
            category="6. Sensitivity",
            subcategory="small-study effects",
        ),
    log:
        "results/logs/regression/funnel_{timepoint}.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        min_studies=config["meta_regression"]["min_studies"],
        interval=config["interval"],
    script:
        "../scripts/regression_funnel.py"
