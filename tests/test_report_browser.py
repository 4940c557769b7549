"""The HTML report in a real browser: Debian's headless Chromium, driven by selenium through
/usr/bin/chromedriver, loads report.html from file:// with the network refused. Skips cleanly when Chromium,
chromedriver or selenium are missing (``scripts/test.sh`` installs them)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_report import build_results

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _driver(profile: Path, extra_flags: tuple[str, ...] = ()):
    if not CHROMIUM or not Path(CHROMEDRIVER).exists():
        pytest.skip("Debian chromium / chromium-driver not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # Root in a container needs --no-sandbox; the rest keeps Chromium off the network and quiet.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000", f"--user-data-dir={profile}",
                 "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>", *extra_flags):
        options.add_argument(flag)
    try:
        return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception as exc:  # a broken browser install is an environment problem, not a report bug
        pytest.skip(f"headless Chromium would not start: {type(exc).__name__}: {str(exc).splitlines()[0]}")


def test_report_renders_in_headless_chromium(tmp_path):
    from ferbench.report import write_report

    build_results(tmp_path / "results")
    html = write_report(tmp_path / "results", tmp_path / "report")["html"]
    driver = _driver(tmp_path / "profile")
    try:
        driver.set_page_load_timeout(60)
        driver.get(html.resolve().as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        assert driver.title == "ferbench report: results"
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])")
        assert len(images) == 8 + 1 + 1 + 1  # confusion matrices, Pareto, robustness, one sample grid
        broken = [alt for alt, complete, width, height in images if not (complete and width > 0 and height > 0)]
        assert not broken, f"images that did not load: {broken}"
        for table in ("main-table", "per-class-table", "cost-table", "leakage-table", "audit-1", "claims-table"):
            rows = driver.execute_script(f"return document.querySelectorAll('#{table} tbody tr').length")
            assert rows > 0, f"table #{table} is missing or empty"
        assert driver.execute_script("return document.querySelectorAll('table.significance').length") == 1
        # the wide main table scrolls inside its box instead of pushing the page sideways
        page_width = driver.execute_script("return document.documentElement.scrollWidth")
        assert page_width <= driver.execute_script("return window.innerWidth") + 1
        driver.set_window_size(1400, driver.execute_script("return document.body.scrollHeight") + 100)
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    finally:
        driver.quit()
