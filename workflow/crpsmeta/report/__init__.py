"""The posterior report: the summary of findings and the HTML page."""
