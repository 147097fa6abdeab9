"""Run every benchmark case and print a table; `--json FILE` also writes the metrics."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from qulab_gui import __version__
from qulab_gui.bench.context import BenchContext

CASES = ["nplus1", "cache", "outbox", "outbox_outage", "startup"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m qulab_gui.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", type=Path, help="write {'metrics': ..., 'environment': ...} here")
    parser.add_argument("--redis-url", default=os.environ.get("QULAB_REDIS_URL", "redis://127.0.0.1:6379/15"),
                        help="Redis to measure ('fake' for fakeredis); falls back to fakeredis if absent")
    parser.add_argument("--database-url", default=os.environ.get("QULAB_DATABASE_URL"),
                        help="database to measure (default: a temp SQLite file)")
    parser.add_argument("--only", choices=CASES, action="append", help="run only these cases")
    parser.add_argument("--classroom", type=int, nargs="?", const=30, metavar="N",
                        help="run only the classroom case (not part of a full run): N learners at once "
                             "(default 30), each over NiceGUI's websocket protocol")
    parser.add_argument("--classroom-browsers", action="store_true",
                        help="with --classroom: each learner a Chromium context (measures the browser too)")
    args = parser.parse_args(argv)
    if args.classroom is not None and args.classroom < 1:
        parser.error(f"--classroom needs at least 1 learner, not {args.classroom}")
    return args


def load_cases(names: list[str]) -> dict[str, ModuleType]:
    """Import each case module; a case that cannot import stops the bench with the reason (exit code 2).

    Skipping it instead would print a report without its metrics, which reads like a complete run.
    """
    cases = {}
    for name in names:
        try:
            cases[name] = importlib.import_module(f"qulab_gui.bench.{name}")
        except ImportError as error:
            raise SystemExit(f"qulab bench: the {name!r} case cannot run: {type(error).__name__}: {error} "
                             "(install the dev extra: pip install -e '.[dev]')") from error
    return cases


async def run(args: argparse.Namespace) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    environment: dict[str, Any] = {}
    # all of them before the first runs: fail in a second, not later
    cases = load_cases(["classroom"] if args.classroom else args.only or CASES)
    with tempfile.TemporaryDirectory(prefix="qulab-bench-") as work:
        ctx = BenchContext(args.database_url, args.redis_url, args.quick, Path(work))
        for name, module in cases.items():
            print(f"\n== {name}", flush=True)
            started = time.perf_counter()
            result = await (module.run(ctx, args.classroom, args.classroom_browsers) if name == "classroom"
                            else module.run(ctx))
            metrics.update(result.get("metrics", {}))
            environment.update(result.get("environment", {}))
            print(f"  ({time.perf_counter() - started:.1f} s)", flush=True)
    environment.update(_environment(args))
    return {"metrics": metrics, "environment": environment}


def _environment(args: argparse.Namespace) -> dict[str, Any]:
    import nicegui
    import redis
    import sqlalchemy

    return {
        "qulab": __version__,
        "python": sys.version.split()[0],
        "sqlalchemy": sqlalchemy.__version__,
        "redis_py": redis.__version__,
        "nicegui": nicegui.__version__,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "quick": args.quick,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    report = asyncio.run(run(args))
    print("\nmetrics:")
    for name, value in report["metrics"].items():
        print(f"  {name:<32} {value}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
