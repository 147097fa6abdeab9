"""Lab 4's view of Redis itself and of the cache's own counting: the keys with their TTLs, the
counters per key family, Redis' INFO counters, and the banner that says when the cache is degraded."""

from __future__ import annotations

from nicegui import ui

from qulab_gui.lab import PROFILE, SCORE, CacheCounters, Lab
from qulab_gui.ui.frame import Refresh, section, table_column

from .caching_workload import hit_ratio_text

STAT_ROWS = [("hits", "Hits"), ("negative_hits", "… of which cached “nothing”"), ("misses", "Misses"),
             ("hit_ratio", "Hit ratio"), ("loads", "Database loads"), ("coalesced", "Misses that shared a load"),
             ("stale", "Stale loads not cached"), ("errors", "Redis errors"), ("bypassed", "Bypassed (breaker open)"),
             ("invalidations", "Invalidations"), ("mean_load_ms", "Mean load (ms)")]
KEY_COLUMNS = [table_column("key", "Key"), table_column("ttl", "TTL left (s)", align="right"),
               table_column("value", "Value")]
KEYS_SHOWN = 20


def stat_text(name: str, value: int | float | None) -> str:
    if name == "hit_ratio":
        return hit_ratio_text(value)
    if value is None:
        return "–"
    return f"{value:.2f}" if name == "mean_load_ms" else f"{value:,}"


def degraded_text(counters: CacheCounters) -> str:
    total, health = counters.total, counters.health
    pending = health.pending_invalidations
    return (f"Cache degraded: {(health.last_error or '').rstrip('.')}. Reads are served by the database. Counted: "
            f"{total.errors:,} Redis error(s) on reads, {total.bypassed:,} read(s) that skipped Redis "
            f"while the breaker was open, {health.probe_errors:,} failed status check(s) or listing(s)"
            + (f"; {pending} invalidation(s) waiting for Redis." if pending else "."))


def keys_section(lab: Lab) -> Refresh:
    with section("Keys in Redis", "What the cache holds right now; the remaining TTL is read from Redis "
                 "(PTTL) every second."):
        summary = ui.label().mark("keys-summary")
        table = ui.table(rows=[], columns=KEY_COLUMNS, row_key="key").props("dense flat").classes("w-full") \
            .mark("cache-keys")

    async def refresh() -> None:
        listing = await lab.caching.entries(KEYS_SHOWN)
        if listing is None:
            summary.text = "Redis is unreachable: the keys cannot be listed."
            table.rows = []
            return
        summary.text = f"{listing.total:,} key(s) under {lab.caching.prefix}" + (
            f", the first {len(listing.entries)} shown" if listing.total > len(listing.entries) else "")
        table.rows = [{"key": e.key, "ttl": f"{e.ttl_s:.1f}" if e.ttl_s is not None else "none",
                       "value": "nothing (negative)" if e.negative else e.family} for e in listing.entries]

    return refresh


def counters_section(lab: Lab, banner: ui.label, changed: Refresh) -> Refresh:
    """The cache's counters per family and Redis' INFO; `banner` (at the top) says when the cache is degraded."""
    with section("Counters", "Counted by the cache itself on its own code paths, per key family; the hit "
                 "ratio is over the reads that reached Redis."):
        stat_labels: dict[tuple[str, str], ui.label] = {}
        with ui.grid(columns=3).classes("gap-x-8 gap-y-1").mark("cache-stats"):
            for text in ("", "profile", "score"):
                ui.label(text).classes("font-medium")
            for name, title in STAT_ROWS:
                ui.label(title).classes("text-grey-8")
                for family in (PROFILE, SCORE):
                    stat_labels[name, family] = ui.label("–").classes("font-mono text-right") \
                        .mark(f"stat-{family}-{name}")
        server_label = ui.label().classes("text-body2").mark("server-counters")
        ui.button("Reset counters", icon="restart_alt", on_click=lambda: reset()).props("flat").mark("reset-counters")

    async def reset() -> None:
        await lab.caching.reset_counters()
        await changed()

    async def refresh() -> None:
        counters = await lab.caching.counters()
        for (name, family), label in stat_labels.items():
            label.text = stat_text(name, getattr(counters.families[family], name))
        server, total = counters.server, counters.total
        if server is not None:
            server_label.text = (f"Redis INFO since reset (server-wide, every client): keyspace_hits "
                                 f"{server.keyspace_hits:,}, keyspace_misses {server.keyspace_misses:,}; "
                                 f"the cache counted {total.hits:,} hits and {total.misses:,} misses.")
        else:
            server_label.text = ("Redis' own keyspace_hits/misses (INFO) are not available: fakeredis does not "
                                 "implement INFO." if lab.redis_backend == "fakeredis" else
                                 "Redis' own INFO counters are not available while Redis is unreachable.")
        if counters.health.degraded:
            banner.text = degraded_text(counters)
        banner.set_visibility(counters.health.degraded)

    return refresh


