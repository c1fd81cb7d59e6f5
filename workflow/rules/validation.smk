# The on-demand validation target (`snakemake validate`): simulation with known truth,
# coverage and bias tables, simulation-based calibration. Not part of rule all.
#
#   validation_simulate   every replicate of a scenario (one process): truth drawn from the prior, data of
#                         the scenario's design
#   fit_validation        every replicate of a scenario in one process (validation sampler, one thread):
#                         the replicates share one model structure, so nutpie compiles once; each is
#                         gated there, every gate demoted to a warning (failures are counted)
#   validation_scores     per scenario: each replicate's interval, coverage and SBC rank per parameter
#   validation_report     coverage, bias, SBC tables and figures over all scenarios
#   validate              fails naming scenario, parameter, coverage and tolerance; else writes PASSED


rule validation_simulate:
    output:
        used=expand("results/validation/sims/{{scenario}}/{rep}/used.csv", rep=validation_replicates()),
        truth=expand("results/validation/sims/{{scenario}}/{rep}/truth.json", rep=validation_replicates()),
    log:
        "results/logs/validation_simulate/{scenario}.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        simulation=validation_simulation,
    script:
        "../scripts/validation_simulate.py"


rule fit_validation:
    input:
        used=validation_replicate_inputs,
    output:
        idata=expand(
            "results/validation/fits/{{scenario}}/{{model}}/{{timepoint}}/{{prior_set}}/{rep}/idata.nc",
            rep=validation_replicates(),
        ),
        diagnostics=expand(
            "results/validation/diagnostics/{{scenario}}/{{model}}/{{timepoint}}/{{prior_set}}/{rep}/diagnostics.csv",
            rep=validation_replicates(),
        ),
    log:
        "results/logs/fit/validation/{scenario}/{model}/{timepoint}/{prior_set}.log",
    conda:
        "../envs/crpsmeta.yaml"
    threads: 1
    params:
        plan=validation_fit_plan,
        priors=priors_for,
        prior_set=prior_set_of,
        options=options_for,
        sampler=config["validation"]["sampler"],
        thresholds=validation_thresholds(),
    script:
        "../scripts/fit_replicates.py"


rule validation_scores:
    input:
        unpack(validation_score_inputs),
    output:
        scores="results/validation/scores/{scenario}/scores.csv",
        diagnostics="results/validation/scores/{scenario}/diagnostics.csv",
    log:
        "results/logs/validation_scores/{scenario}.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        prob=config["interval"]["prob"],
        sbc_draws=config["validation"]["sbc_draws"],
    script:
        "../scripts/validation_scores.py"


rule validation_report:
    input:
        scores=expand("results/validation/scores/{scenario}/scores.csv", scenario=config["validation"]["scenarios"]),
        diagnostics=expand(
            "results/validation/scores/{scenario}/diagnostics.csv", scenario=config["validation"]["scenarios"]
        ),
    output:
        **validation_outputs(),
    log:
        "results/logs/validation_report/report.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        prob=config["interval"]["prob"],
        level=config["validation"]["level"],
        bins=config["validation"]["sbc_bins"],
        settings=lambda wildcards: {
            **config["validation"],
            "simulate_prior_set": validation_prior_set("simulate_prior_set"),
            "fit_prior_set": validation_prior_set("fit_prior_set"),
        },
    script:
        "../scripts/validation_report.py"


rule validate:
    input:
        **validation_outputs(),
    output:
        passed="results/validation/PASSED",
    log:
        "results/logs/validate/validate.log",
    conda:
        "../envs/crpsmeta.yaml"
    script:
        "../scripts/validation_verdict.py"
