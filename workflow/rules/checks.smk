# Predictive checks: prior predictive, posterior predictive per study, LOO-PIT.
# Each reads a fit's record (idata.nc); helpers are in common.smk ("checks.smk" section).


# What a primary fit's record says beyond its estimands, in one job per fit (one start-up, one read of the
# record): prior and posterior predictive checks, power-scaling sensitivity, prior-versus-posterior and
# rank figures.
rule criticise_fit:
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
        power_scaling="results/sensitivity/power_scaling/{model}/{timepoint}/power_scaling.csv",
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
        "results/logs/checks/criticise_fit/{model}/{timepoint}.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        prob=config["interval"]["prob"],
        prior_set=prior_set_of,
        power_scaling=config["criticism"]["power_scaling"],
        sampler=sampler_settings(),  # the rank plot's caption names the draws
    script:
        "../scripts/criticise_fit.py"


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
