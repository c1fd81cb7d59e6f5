# The on-demand validation target (`snakemake validate`): simulation with known truth,
# coverage and bias tables, simulation-based calibration.
