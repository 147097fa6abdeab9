"""The lab report: one self-contained HTML page (inline CSS and SVG, nothing fetched, printable to
PDF from the browser) with the learner's guided answers, the kept tables and charts of every lab,
the backends and versions it was measured on; and the same tables as CSV files.

Everything a learner typed or a run produced is escaped here: an answer is text, never markup.
"""

from __future__ import annotations

import asyncio
import csv
import io
import platform
import zipfile
from datetime import UTC, datetime
from html import escape
from importlib import metadata
from typing import TYPE_CHECKING

import redis
import sqlalchemy

from qulab_gui import __version__

from .report_tables import Cell, LabSection, Table, sections

__all__ = ["build_html", "csv_files", "csv_zip", "environment", "sections"]

if TYPE_CHECKING:
    from .core import Lab

SERVER_VERSION_TIMEOUT_S = 0.5  # a hung Redis must not hold up the report
CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #212121;
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.8rem; margin-bottom: 0.2rem; } h2 { border-bottom: 2px solid #3f51b5; padding-bottom: 0.2rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 0.4rem; } .muted { color: #616161; }
table { border-collapse: collapse; margin: 0.4rem 0 1rem; font-size: 13px; }
th, td { border: 1px solid #bdbdbd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #e8eaf6; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.right { color: #2e7d32; font-weight: 600; } td.wrong { color: #c62828; font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 1.5rem; }
dt { color: #616161; } dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
svg.chart { width: 100%; max-width: 640px; height: auto; display: block; margin: 0.5rem 0 1rem; }
svg.chart text { font: 11px system-ui, sans-serif; fill: #424242; }
svg.chart .title { font-size: 13px; font-weight: 600; }
svg.chart .plot { fill: #fafafa; stroke: #9e9e9e; } svg.chart .grid { stroke: #e0e0e0; }
section.lab { margin-top: 2rem; }
@media print { body { margin: 0; max-width: none; font-size: 12px; } section.lab { break-before: page; }
               table, svg.chart { break-inside: avoid; } }
"""


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


async def _redis_server_version(lab: Lab) -> str | None:
    """The Redis server's own version from INFO; None for fakeredis or when Redis does not answer."""
    if lab.redis is None or lab.redis.is_fake:
        return None
    try:
        info = await asyncio.wait_for(lab.redis.client.info("server"), SERVER_VERSION_TIMEOUT_S)
    except (redis.RedisError, OSError, TimeoutError):
        return None
    return str(info.get("redis_version")) if info.get("redis_version") else None


async def environment(lab: Lab) -> dict[str, str]:
    """What the numbers were measured on: the backends (URLs with passwords masked) and the versions."""
    server = lab.engine.dialect.server_version_info if lab.engine is not None else None
    redis_server = await _redis_server_version(lab)
    facts: dict[str, str | None] = {
        "Learner": lab.sandbox.label, "Database": lab.dialect, "Database URL": lab.database_url,
        "Database server": ".".join(map(str, server)) if server else None,
        "Redis backend": lab.redis_backend, "Redis URL": lab.redis_url, "Redis server": redis_server,
        "Network latency knob": f"{lab.latency.ms:g} ms", "QuLab": __version__,
        "Python": platform.python_version(), "SQLAlchemy": sqlalchemy.__version__, "NiceGUI": _version("nicegui"),
        "redis-py": redis.__version__, "fakeredis": _version("fakeredis") if lab.redis_backend == "fakeredis" else None,
        "Machine": f"{platform.system()} {platform.machine()}",
    }
    return {key: value for key, value in facts.items() if value}


def _cell(value: Cell) -> str:
    if isinstance(value, bool):
        return f'<td class="{"right" if value else "wrong"}">{"right" if value else "wrong"}</td>'
    if isinstance(value, int | float):
        text = f"{value:,}" if isinstance(value, int) else f"{value:,.3f}".rstrip("0").rstrip(".")
        return f'<td class="number">{text}</td>'
    return f"<td>{escape('' if value is None else str(value))}</td>"


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(column)}</th>" for column in table.columns)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in table.rows)
    return f"<h3>{escape(table.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(section: LabSection) -> str:
    parts = [f'<section class="lab" id="{escape(section.lab)}"><h2>{escape(section.title)}</h2>']
    if section.empty:
        parts.append('<p class="muted">Nothing kept for this lab yet: no guided answers, no runs.</p>')
    elif not section.answers:
        parts.append('<p class="muted">No guided answers yet.</p>')
    parts += [_table(table) for table in section.tables]
    parts += section.charts  # drawn by report_svg, every text in them escaped there
    return "".join(parts) + "</section>"


async def build_html(lab: Lab) -> str:
    """The whole report as one HTML document."""
    facts = await environment(lab)
    written = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    environment_list = "".join(f"<dt>{escape(key)}</dt><dd>{escape(value)}</dd>" for key, value in facts.items())
    body = "".join(_section(section) for section in sections(lab))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>QuLab lab report</title><style>{CSS}</style></head><body>"
            f'<h1>QuLab lab report</h1><p class="muted">Written {escape(written)}. Every number below was '
            f"measured by QuLab on the backends listed here; print this page to save it as a PDF.</p>"
            f"<h2>Backends and versions</h2><dl>{environment_list}</dl>{body}</body></html>")


def csv_files(lab: Lab) -> dict[str, str]:
    """Each kept table (and each lab's guided answers) as CSV text, by file name."""
    files = {}
    for section in sections(lab):
        for table in section.tables:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(table.columns)
            writer.writerows(["" if value is None else value for value in row] for row in table.rows)
            files[f"{table.name}.csv"] = out.getvalue()
    return files


def csv_zip(lab: Lab) -> bytes:
    """The CSV files in one zip archive, built in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in csv_files(lab).items():
            archive.writestr(f"qulab-tables/{name}", text)
    return buffer.getvalue()
