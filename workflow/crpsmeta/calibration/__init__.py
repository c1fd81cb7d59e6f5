"""The package side of ``snakemake validate``: simulate with known truth, score the fits, report."""
