"""The HTML report in a real browser: Debian's headless Chromium, driven by selenium through
/usr/bin/chromedriver, loads report.html from file:// with the network refused. Skips cleanly when Chromium,
chromedriver or selenium are missing (``scripts/test.sh`` installs them)."""

from __future__ import annotations

from helpers import _driver, build_results


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
        # confusion matrices (clean runs), headline, robust model vs restoration, Pareto, one sample grid
        assert len(images) == 5 + 1 + 1 + 1 + 1
        broken = [alt for alt, complete, width, height in images if not (complete and width > 0 and height > 0)]
        assert not broken, f"images that did not load: {broken}"
        # the report opens with the findings, then the headline figure, before the long tables
        order = driver.execute_script("return Array.from(document.querySelectorAll('main > section')).map(s => s.id)")
        assert order[:3] == ["findings", "headline", "main"], order
        assert driver.execute_script("return document.querySelectorAll('#findings li').length") >= 4
        headline = driver.execute_script(
            "const i = document.querySelector('#headline img'); return i && [i.alt, i.complete, i.naturalWidth]")
        assert headline and headline[0] == "accuracy against degradation severity" and headline[2] > 400
        for table in ("main-table", "phase-table", "per-class-table", "cost-table", "leakage-table", "audit-1",
                      "claims-table", "loss-table", "restorer-table"):
            rows = driver.execute_script(f"return document.querySelectorAll('#{table} tbody tr').length")
            assert rows > 0, f"table #{table} is missing or empty"
        assert driver.execute_script("return document.querySelectorAll('table.significance').length") == 3
        # readable at 1400 px: no sideways scrolling of the page, nor inside any box
        assert driver.execute_script("return window.innerWidth") == 1400
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 1400
        wide = driver.execute_script("return Array.from(document.querySelectorAll('table, .scroll, figure'))"
                                     ".filter(e => e.scrollWidth > e.clientWidth + 1 || "
                                     "e.getBoundingClientRect().right > 1400).map(e => e.id || e.tagName)")
        assert not wide, f"wider than the 1400-px window: {wide}"
        driver.set_window_size(1400, driver.execute_script("return document.body.scrollHeight") + 100)
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    finally:
        driver.quit()
