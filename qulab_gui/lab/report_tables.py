"""The lab report's content, per lab: the guided answers, the kept measurements as tables, and the
charts drawn from the same kept series. Read from the learner's notebook through the lab sections'
`last_*()` calls, so the report shows exactly what the pages show again.

A table keeps raw values (numbers stay numbers): the CSV files take them as they are, the HTML
formats them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from qulab_gui.data.nplus1 import SWEPT
from qulab_gui.data.score_calculation import RolledBack

from . import kept
from .report_svg import bar_chart, line_chart

if TYPE_CHECKING:
    from .core import Lab

TITLES = {kept.MODELS: "1 · Data models", kept.CONNECTIVITY: "2 · Connectivity & pooling",
          kept.NPLUS1: "3 · Repository & N+1", kept.CACHING: "4 · Caching", kept.OUTBOX: "5 · Outbox"}
ANSWER_COLUMNS = ["question", "prediction", "measured", "unit", "correct", "explanation", "at"]
Cell = str | int | float | bool | None


@dataclass(frozen=True)
class Table:
    name: str  # the CSV file's name without .csv: "<lab>-<what>"
    title: str
    columns: list[str]
    rows: list[list[Cell]]


@dataclass
class LabSection:
    lab: str
    title: str
    answers: list[dict[str, Any]]
    tables: list[Table] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)  # inline SVG

    @property
    def empty(self) -> bool:
        return not (self.answers or self.tables)

    @property
    def measured(self) -> list[Table]:
        """The tables of kept runs (the answers' table aside)."""
        return [table for table in self.tables if not table.name.endswith("-answers")]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def sections(lab: Lab) -> list[LabSection]:
    """Every lab in order, with whatever the learner kept of it (possibly nothing)."""
    built = []
    for name, title in TITLES.items():
        section = LabSection(name, title, list(lab.notebook.answers(name).values()))
        if section.answers:
            section.tables.append(Table(f"{name}-answers", "Guided answers", ANSWER_COLUMNS,
                                        [[answer.get(key) for key in ANSWER_COLUMNS] for answer in section.answers]))
        ADD_RESULTS.get(name, lambda _lab, _section: None)(lab, section)
        built.append(section)
    return built


def add_probe(lab: Lab, section: LabSection) -> None:
    probe = lab.last_probe
    if probe is None:
        return
    section.tables.append(Table("connectivity-probe", "Concurrency probe", [
        "sessions", "pool size", "max overflow", "timeout (s)", "completed", "timed out", "longest wait (ms)",
        "elapsed (s)"], [[probe.sessions, probe.pool.size, probe.pool.max_overflow, probe.pool.timeout_s,
                          probe.completed, probe.timeouts, ms(probe.max_wait_s), round(probe.elapsed_s, 3)]]))
    waits = [["got a connection", ms(w)] for w in sorted(probe.waits_s)] + \
        [["timed out", ms(w)] for w in sorted(probe.timed_out_after_s)]
    section.tables.append(Table("connectivity-waits", "Checkout wait per session", ["outcome", "wait (ms)"], waits))
    over_time = {name: [(snap.at_s, getattr(snap, key)) for snap in probe.snapshots]
                 for name, key in (("checked out", "checked_out"), ("overflow", "overflow"), ("waiting", "waiting"))}
    if probe.snapshots:
        section.charts.append(line_chart("Pool during the probe", "time (s)", "connections / sessions", over_time))


def add_nplus1(lab: Lab, section: LabSection) -> None:
    runs = lab.nplus1.last_comparison()
    if runs:
        section.tables.append(Table("nplus1-strategies", f"Loading the first N = {runs[0].n:,} users", [
            "strategy", "N", "statements", "theory says", "time (ms)", "rows fetched", "rows per user", "error"],
            [[r.strategy, r.n, r.statements, r.expected, ms(r.elapsed_s), r.rows_fetched, round(r.rows_per_user, 2),
              r.error] for r in runs]))
        section.charts.append(bar_chart("Statements per strategy", "statements", [r.strategy for r in runs],
                                        [r.statements for r in runs], log_y=True))
    sweep = lab.nplus1.last_sweep()
    if sweep:
        section.tables.append(Table("nplus1-sweep", "Scale sweep", ["strategy", "N", "statements", "time (ms)"],
                                    [[r.strategy, r.n, r.statements, ms(r.elapsed_s)] for r in sweep]))
        for what, value, log in (("statements", lambda r: r.statements, True),
                                 ("time (ms)", lambda r: ms(r.elapsed_s), False)):
            lines = {s: [(r.n, value(r)) for r in sweep if r.strategy == s] for s in SWEPT}
            section.charts.append(line_chart(f"{what.split()[0].capitalize()} against N", "N (users)", what,
                                             {s: line for s, line in lines.items() if line}, log_y=log))


def add_workload(lab: Lab, section: LabSection) -> None:
    run = lab.caching.last_workload()
    if run is None:
        return
    section.tables.append(Table("caching-workload", "Workload", [
        "reads", "skew", "users", "hits", "misses", "not served by Redis", "hit ratio", "T_cache (ms)",
        "T_miss (ms)", "T_db (ms)", "T_avg measured (ms)", "T_avg predicted (ms)", "elapsed (s)"],
        [[run.reads, run.spec.skew, run.users, run.hits, run.misses, run.degraded, run.hit_ratio, run.t_cache_ms,
          run.t_miss_ms, run.t_db_ms, run.t_avg_measured_ms, run.t_avg_predicted_ms, round(run.elapsed_s, 3)]]))
    columns = ["reads", "hit_ratio", "cached_p50_ms", "cached_p95_ms", "database_p50_ms", "database_p95_ms"]
    section.tables.append(Table("caching-workload-points", "Workload as it ran", columns,
                                [[getattr(point, c) for c in columns] for point in run.points]))
    latencies = {name.replace("_ms", "").replace("_", " "): [(p.reads, getattr(p, name)) for p in run.points
                                                              if getattr(p, name) is not None]
                 for name in columns[2:]}
    section.charts.append(line_chart("Read latency as the workload ran", "reads", "latency (ms)",
                                     {k: v for k, v in latencies.items() if v}, log_y=True))
    section.charts.append(line_chart("Hit ratio as the workload ran", "reads", "hit ratio (%)", {"hit ratio": [
        (p.reads, p.hit_ratio * 100) for p in run.points if p.hit_ratio is not None]}))


def add_outbox(lab: Lab, section: LabSection) -> None:
    write, burst = lab.outbox.last_write(), lab.outbox.last_burst()
    if write is not None:
        values = asdict(write)
        outcome = "rolled back" if isinstance(write, RolledBack) else "committed"
        section.tables.append(Table("outbox-write", "Last score write", ["outcome", *values],
                                    [[outcome, *values.values()]]))
    if burst is not None:
        section.tables.append(Table("outbox-burst", "Last burst", ["scores written, each with its event"], [[burst]]))


ADD_RESULTS = {kept.CONNECTIVITY: add_probe, kept.NPLUS1: add_nplus1, kept.CACHING: add_workload,
               kept.OUTBOX: add_outbox}
