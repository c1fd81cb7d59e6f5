"""Open a report in headless Debian Chromium (Selenium + chromedriver) and check what a reader would see.

Used by tests/report/test_report.py, and runnable by hand to screenshot a report:

    python tests/browser.py results/report/index.html results/report/screenshot.png
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# As the machine notes: without the background-networking flags Chromium tries
# (and fails) to reach Google's hosts at start; a report must need no network.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1366,900",
]


def missing_browser() -> str | None:
    """Why a browser check cannot run here (None if it can)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).exists() or shutil.which(Path(path).name)):
            return (
                f"{path} not found: install Debian's chromium and chromium-driver "
                f"(apt-get install chromium chromium-driver; bash run.sh test does it when run as root)"
            )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def inspect_report(html: str | Path, screenshot: str | Path | None = None) -> dict:
    """Load ``html`` from disk (file://) and report console messages, images, summary rows and links.

    Returns a dict with ``console`` (browser log entries at SEVERE level),
    ``images`` (src prefix, natural width and height, complete), ``sof_rows``
    ((timepoint, estimand) of every summary-of-findings row), ``title``, and
    ``external`` (resources the page fetched other than data: URIs).
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="crpsmeta-chromium-")
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(120)
        driver.get(Path(html).resolve().as_uri())
        driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true);")
        images = driver.execute_script("""
            return Array.from(document.images).map(img => ({src: img.getAttribute('src').slice(0, 30),
                alt: img.alt, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
                complete: img.complete}));""")
        sof_rows = driver.execute_script("""
            return Array.from(document.querySelectorAll('table.sof')).flatMap(t =>
                Array.from(t.querySelectorAll('tbody tr')).map(r => [t.dataset.timepoint, r.dataset.estimand]));""")
        external = driver.execute_script("""
            return performance.getEntriesByType('resource').map(e => e.name)
                .filter(n => !n.startsWith('data:'));""")
        console = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        if screenshot is not None:
            driver.execute_script(
                "document.querySelectorAll('details').forEach(d => d.open = false);window.scrollTo(0, 0);"
            )
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            driver.set_window_size(1366, 2000)
            driver.save_screenshot(str(screenshot))
        return {
            "title": driver.title,
            "console": console,
            "images": images,
            "sof_rows": [tuple(r) for r in sof_rows],
            "external": external,
        }
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    reason = missing_browser()
    if reason:
        sys.exit(reason)
    result = inspect_report(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None)
    broken = [i for i in result["images"] if not i["naturalWidth"]]
    print(
        f"title: {result['title']}\nimages: {len(result['images'])} ({len(broken)} not rendered)\n"
        f"summary rows: {len(result['sof_rows'])}\nconsole errors: {len(result['console'])}\n"
        f"external resources: {len(result['external'])}"
    )
    for entry in result["console"]:
        print("  console:", entry.get("message"))
    sys.exit(1 if broken or result["console"] or result["external"] else 0)
