rule model_inputs:
    input:
        studies=STUDIES_CSV,
        outcomes=OUTCOMES_CSV,
        studies_schema=SCHEMAS["studies"],
        outcomes_schema=SCHEMAS["outcomes"],
    output:
        used="results/data/{model}/{timepoint}/used.csv",
        gaps="results/data/{model}/{timepoint}/gaps.csv",
    log:
        "results/logs/model_inputs/{model}/{timepoint}.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        options=options_for,
        timepoints=config["timepoints"],
    script:
        "../scripts/model_inputs.py"
