# The rows every planned fit uses, and the reported rows it cannot use, in one job: each unit's selection
# reads the whole tables, so a data edit changes them all at once (crpsmeta.inputs.selection.model_inputs).


rule model_inputs:
    input:
        studies=STUDIES_CSV,
        outcomes=OUTCOMES_CSV,
        studies_schema=SCHEMAS["studies"],
        outcomes_schema=SCHEMAS["outcomes"],
    output:
        used=data_paths("used.csv"),
        gaps=data_paths("gaps.csv"),
    log:
        "results/logs/model_inputs.log",
    conda:
        "../envs/crpsmeta.yaml"
    params:
        units=data_units(),
        timepoints=config["timepoints"],
    script:
        "../scripts/model_inputs.py"
