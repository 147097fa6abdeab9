"""Views of the code for teaching: the source of what really runs, and an ER diagram from the metadata."""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from sqlalchemy import MetaData

from . import models

NOT_BUNDLED = "# the source is not included in this build"


@dataclass(frozen=True)
class SourceListing:
    """One function (or module) as a page shows it: what it does, where it lives, its code."""

    title: str
    location: str  # e.g. "qulab_gui/data/database.py · create_engine": the path, never this machine's
    source: str


def source_listing(title: str, code: ModuleType | Any) -> SourceListing:
    """Read `code`'s source from the module file that is running it (so it cannot drift from the app).

    Call it once per process and keep the result: reading the file on every page view would make
    the event loop wait for the disk.
    """
    if isinstance(code, ModuleType):
        location = f"{code.__name__.replace('.', '/')}.py"
    else:
        location = f"{code.__module__.replace('.', '/')}.py · {code.__qualname__}"
    try:
        source = textwrap.dedent(inspect.getsource(code))  # methods come indented by their class
    except OSError:  # a frozen build without the .py files
        source = f"{NOT_BUNDLED}: see {location}"
    return SourceListing(title, location, source)


def er_diagram(metadata: MetaData = models.Base.metadata) -> str:
    """A Mermaid erDiagram generated from the tables, so it can never drift from the schema."""
    lines = ["erDiagram"]
    for table in metadata.sorted_tables:
        lines.append(f"    {table.name} {{")
        for column in table.columns:
            kind = type(column.type).__name__.lower().replace("utcdatetime", "datetime")
            keys = ",".join(k for k, on in (("PK", column.primary_key), ("FK", bool(column.foreign_keys)),
                                            ("UK", bool(column.unique))) if on)
            lines.append(f"        {kind} {column.name}{' ' + keys if keys else ''}")
        lines.append("    }")
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            lines.append(f'    {fk.column.table.name} ||--o{{ {table.name} : "{fk.parent.name}"')
    return "\n".join(lines)
