"""The lab report: what this learner kept of each lab, downloadable as one HTML file and as CSV tables."""

from __future__ import annotations

from datetime import UTC, datetime

from nicegui import ui

from qulab_gui.lab import Lab, current_lab, report
from qulab_gui.ui.frame import PAGE_TIMEOUT_S, frame, lab_started, section, table_column
from qulab_gui.ui.text import plural

TITLE = "Lab report"
SUMMARY_COLUMNS = [table_column("lab", "Lab"), table_column("answers", "Guided answers", align="right"),
                   table_column("tables", "Tables", align="right"), table_column("charts", "Charts", align="right")]


def file_stem(lab: Lab) -> str:
    return f"qulab-report-{lab.sandbox.label}-{datetime.now(UTC):%Y%m%d-%H%M}"


@ui.page("/report", response_timeout=PAGE_TIMEOUT_S)
async def report_page() -> None:
    lab = current_lab()
    if not await lab_started(TITLE):
        return
    with frame(TITLE, "Your guided answers, the measured tables and charts of every lab, and the backends "
               "and versions they were measured on: one self-contained HTML file (print it to get a PDF)."):
        with section("What the report holds", "Kept per lab from your last runs; each lab page can clear its own."):
            labs = report.sections(lab)
            ui.table(rows=[{"lab": part.title, "answers": len(part.answers),
                            "tables": len(part.measured), "charts": len(part.charts)}
                           for part in labs], columns=SUMMARY_COLUMNS, row_key="lab") \
                .props("dense flat").classes("w-full").mark("report-summary")
            tables = sum(len(part.tables) for part in labs)
            with ui.row().classes("items-center gap-3"):
                ui.button("Download report (HTML)", icon="description", on_click=lambda: download_html()) \
                    .mark("download-report")
                ui.button(f"Download tables (CSV, zip: {plural(tables, 'file')})", icon="table_view",
                          on_click=lambda: download_tables()).props("outline").mark("download-tables") \
                    .set_enabled(bool(tables))

    async def download_html() -> None:
        html = await report.build_html(lab)
        ui.download.content(html.encode("utf-8"), f"{file_stem(lab)}.html", "text/html; charset=utf-8")

    def download_tables() -> None:
        ui.download.content(report.csv_zip(lab), f"{file_stem(lab)}-tables.zip", "application/zip")
