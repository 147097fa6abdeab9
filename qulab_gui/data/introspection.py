"""Views of the schema for teaching: the models' source and an ER diagram built from the metadata."""

from __future__ import annotations

import inspect
from functools import cache

from sqlalchemy import MetaData

from . import models


@cache  # read the file once, not on every page view (the event loop would wait for the disk)
def model_source() -> str:
    return inspect.getsource(models)


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
