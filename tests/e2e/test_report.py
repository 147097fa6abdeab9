"""The exported lab report in a real Chromium: it opens from the file alone with no console error,
shows the measured statement counts and its charts, and prints to a PDF."""

from __future__ import annotations

import pytest

from qulab_gui.bench import launcher
from tests.e2e import test_labs as labs
from tests.e2e.conftest import ARTIFACTS, VIEWPORT, Tab

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect


def test_the_downloaded_report_opens_offline_with_the_counts_and_charts(
        tab: Tab, browser, served: launcher.RunningApp) -> None:
    page = tab.page
    labs.add_sample_users(tab, 20)
    tab.open("/repository", "3 · Repository & N+1")
    tab.fill_n("20")
    page.get_by_role("button", name="Run all four").click()
    expect(page.get_by_text("Measured 4 strategies for N = 20.").first).to_be_visible(timeout=60_000)
    tab.open("/report", "Lab report")
    tab.screenshot(served.label, "report-page")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download report (HTML)").click()
    saved = ARTIFACTS / served.label / "lab-report.html"
    saved.parent.mkdir(parents=True, exist_ok=True)
    download.value.save_as(saved)
    tab.assert_clean()

    context = browser.new_context(viewport=VIEWPORT, offline=True)  # offline: it must need nothing else
    try:
        report = Tab(context.new_page(), saved.as_uri())
        report.page.goto(saved.as_uri())
        expect(report.page.get_by_role("heading", name="QuLab lab report")).to_be_visible()
        table = report.page.locator("h3", has_text="Loading the first N = 20 users") \
            .locator("xpath=following-sibling::table[1]")
        statements = table.locator("tbody tr td:nth-child(3)")
        expect(statements).to_have_text(["41", "3", "1", "1"])  # lazy, selectin, joined, the guard
        expect(report.page.locator("svg.chart")).to_have_count(1)
        bars = report.page.locator("svg.chart").bounding_box()
        assert bars is not None and bars["width"] > 400 and bars["height"] > 150  # drawn at a readable size
        report.screenshot(served.label, "lab-report")
        pdf = report.page.pdf(path=str(saved.with_suffix(".pdf")))
        assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
        report.assert_clean()
    finally:
        context.close()

