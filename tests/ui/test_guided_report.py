"""The lab report: one click downloads an HTML file with the learner's answers (escaped), the measured
statement counts, charts as inline SVG and the backends; another the same tables as CSV in a zip."""

from __future__ import annotations

import csv
import io
import zipfile
from html.parser import HTMLParser

from nicegui.testing import User

from tests.ui.conftest import lab_ready

ANSWER = {"question": "How many statements does lazy loading run for N = 30?", "prediction": 31.0,
          "measured": 61.0, "unit": "statements", "correct": False,
          "explanation": "<script>alert('x')</script> 1 + 30 × 2 = 61", "at": "2026-12-03T19:40:00+00:00"}


class Report(HTMLParser):
    """The parts of the report a reader looks at: its tables by title, its tags, its visible text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.text: list[str] = []
        self._heading = ""
        self._cell: list[str] | None = None
        self._in = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs
        self._in = tag
        if tag == "table":
            self.tables[self._heading] = []
        elif tag == "tr":
            self.tables[self._heading].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._heading][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in == "h3":
            self._heading = data
        if self._cell is not None:
            self._cell.append(data)

    def column(self, title: str, name: str) -> list[str]:
        header, *rows = self.tables[title]
        return [row[header.index(name)] for row in rows]


async def kept_runs_and_an_answer():
    lab = await lab_ready()
    await lab.load_samples(30, 2)
    await lab.nplus1.measure(["lazy", "selectin", "joined", "raise"], 30)
    await lab.nplus1.sweep(30)
    await lab.notebook.answer("nplus1", "lazy-statements", ANSWER)
    return lab


async def test_the_report_holds_the_answers_the_statement_counts_charts_and_backends(user: User) -> None:
    await kept_runs_and_an_answer()
    await user.open("/report")
    user.find(marker="download-report").click()
    response = await user.download.next(timeout=5)
    report = Report(response.content.decode("utf-8"))

    assert report.column("Guided answers", "question") == [ANSWER["question"]]
    assert report.column("Guided answers", "correct") == ["wrong"]
    assert report.column("Guided answers", "explanation") == [ANSWER["explanation"]]  # shown as text...
    assert "script" not in report.tags  # ...never run: the learner's answer is escaped
    assert report.column("Loading the first N = 30 users", "statements") == ["61", "3", "1", "1"]
    assert report.column("Loading the first N = 30 users", "theory says") == ["61", "3", "1", "1"]
    assert report.column("Scale sweep", "statements")[:3] == ["21", "3", "1"]  # lazy, selectin, joined at N = 10
    assert report.tags.count("svg") == 3  # the bars, and statements and time against N
    text = " ".join(report.text)
    assert "Statements per strategy" in text and "Statements against N" in text
    assert "Nothing kept for this lab yet" in text  # the labs without runs or answers say so
    for fact in ("sqlite", "fakeredis", "SQLAlchemy", "NiceGUI", "redis-py", "Python", "QuLab"):
        assert fact in text
    external = [value for name, value in report.attributes if name in ("src", "href") and value]
    assert external == [] and "link" not in report.tags  # self-contained: nothing to fetch


async def test_the_tables_download_as_csv_files_in_a_zip(user: User) -> None:
    await kept_runs_and_an_answer()
    await user.open("/report")
    await user.should_see("Download tables (CSV, zip: 3 files)")
    summary = {row["lab"]: row for row in user.find(marker="report-summary").elements.pop().rows}
    assert summary["3 · Repository & N+1"] == {"lab": "3 · Repository & N+1", "answers": 1, "tables": 2, "charts": 3}
    assert summary["4 · Caching"]["tables"] == 0
    user.find(marker="download-tables").click()
    response = await user.download.next(timeout=5)
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["qulab-tables/nplus1-answers.csv", "qulab-tables/nplus1-strategies.csv",
                                          "qulab-tables/nplus1-sweep.csv"]
    strategies = list(csv.DictReader(io.StringIO(archive.read("qulab-tables/nplus1-strategies.csv").decode())))
    assert [(row["strategy"], row["statements"]) for row in strategies] == [
        ("lazy", "61"), ("selectin", "3"), ("joined", "1"), ("raise", "1")]
    answers = list(csv.DictReader(io.StringIO(archive.read("qulab-tables/nplus1-answers.csv").decode())))
    assert answers[0]["prediction"] == "31.0" and answers[0]["explanation"] == ANSWER["explanation"]


async def test_with_nothing_kept_the_report_says_so_and_there_are_no_tables(user: User) -> None:
    from qulab_gui.lab import report

    lab = await lab_ready()
    await user.open("/report")
    await user.should_see("Download tables (CSV, zip: 0 files)")
    assert not user.find(marker="download-tables").elements.pop().enabled
    html = Report(await report.build_html(lab))
    assert " ".join(html.text).count("Nothing kept for this lab yet") == 5
