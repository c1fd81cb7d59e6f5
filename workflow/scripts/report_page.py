"""Rule report_page: the self-contained posterior report, results/report/index.html."""

from pathlib import Path

from crpsmeta.report.page import build_page
from crpsmeta.runlog import logged

with logged(snakemake.log[0]):
    page, account = build_page(snakemake.input, snakemake.params.context, Path(snakemake.scriptdir).parent / "report")
    tmp = Path(snakemake.output.html).with_suffix(".html.partial")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(snakemake.output.html)
    print(f"wrote {snakemake.output.html} ({len(page) / 1e6:.1f} MB); {account}")
