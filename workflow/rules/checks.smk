# Predictive checks: prior predictive, posterior predictive per study, LOO-PIT.
# Each reads a fit's record (idata.nc); helpers are in common.smk ("checks.smk" section).


# Prior and posterior predictive checks of one fit (one job: they share the record and the start-up).
rule predictive_checks:
    input:
        idata="results/fits/{model}/{timepoint}/idata.nc",
        # checked only once the fit has passed its convergence gate
        diagnostics="results/diagnostics/{model}/{timepoint}/diagnostics.csv",
    output:
        prior="results/checks/{model}/{timepoint}/prior_predictive.csv",
        rates="results/checks/{model}/{timepoint}/prior_rates.csv",
        prior_png=report(
            "results/checks/{model}/{timepoint}/prior_predictive.png",
            caption="../report/captions/predictive.rst",
            category="5. Diagnostics",
            subcategory="predictive checks",
        ),
        posterior="results/checks/{model}/{timepoint}/posterior_predictive.csv",
        posterior_png=report(
            "results/checks/{model}/{timepoint}/posterior_predictive.png",
            caption="../report/captions/predictive.rst",
            category="5. Diagnostics",
            subcategory="predictive checks",
        ),
    log:
        "results/logs/checks/predictive_checks/{model}/{timepoint}.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        prob=config["interval"]["prob"],
        prior_set=prior_set_of,
    script:
        "../scripts/predictive_checks.py"


rule loo_pit:
    input:
        idata="results/fits/{model}/{timepoint}/idata.nc",
        diagnostics="results/diagnostics/{model}/{timepoint}/diagnostics.csv",
    output:
        table="results/checks/{model}/{timepoint}/loo_pit.csv",
        uniformity="results/checks/{model}/{timepoint}/loo_pit_uniformity.csv",
        png=report(
            "results/checks/{model}/{timepoint}/loo_pit.png",
            caption="../report/captions/loo_pit.rst",
            category="5. Diagnostics",
            subcategory="predictive checks",
        ),
    log:
        "results/logs/checks/loo_pit/{model}/{timepoint}.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        prob=config["interval"]["prob"],
        prior_set=prior_set_of,
        seed=check_seed,
    script:
        "../scripts/predictive_loo_pit.py"


rule collect_predictive_checks:
    input:
        prior=fit_paths("results/checks/{model}/{timepoint}/prior_predictive.csv"),
        posterior=fit_paths("results/checks/{model}/{timepoint}/posterior_predictive.csv"),
        loo_pit=loo_pit_paths("loo_pit.csv"),
        uniformity=loo_pit_paths("loo_pit_uniformity.csv"),
    output:
        summary="results/checks/predictive_checks.csv",
    log:
        "results/logs/checks/collect_predictive_checks.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        prob=config["interval"]["prob"],
    script:
        "../scripts/predictive_collect.py"
