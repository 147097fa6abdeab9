"""What every benchmark case gets: where to connect, how big to go, and a table printer."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class BenchContext:
    database_url: str | None  # None: a temp SQLite file per case
    redis_url: str  # "fake" or a redis:// URL
    quick: bool
    work_dir: Path
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def row(self, case: str, metric: str, value: str) -> None:
        self.rows.append((case, metric, value))
        print(f"  {case:<10} {metric:<44} {value}", flush=True)

    def sqlite_url(self, name: str) -> str:
        path = self.work_dir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite+aiosqlite:///{path}"

    def url_for(self, name: str) -> str:
        return self.database_url or self.sqlite_url(name)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
