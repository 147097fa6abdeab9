"""Cache case: what a cache hit costs next to its floor and next to the database, and the hit ratio
of a skewed workload.

- Floor: a raw GET of the very key (same payload) with the same client the cache uses.
- Cached hit: `CachedUserRepository.latest_score` on that warm key (GET + json.loads + counting).
- Database: the uncached path a miss takes (session, SELECT latest score, JSON shape).
The three are interleaved in one loop so background load on a shared machine hits all alike.
Then a seeded Zipf (s = 1) workload of 10,000 reads over 1,000 users from a cold cache; its hit
ratio is the cache's own counter. Last, the hit and the database path again with the latency knob
at 2 ms per statement and per Redis command: both servers equally far away.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from qulab_gui.bench.context import BenchContext
from qulab_gui.data import database, redis_client, samples
from qulab_gui.data.cache import HIT, SCORE, CachedUserRepository, cache_client, key_for
from qulab_gui.data.latency import Latency
from qulab_gui.data.models import User
from qulab_gui.data.stats import percentile
from qulab_gui.data.workload import WorkloadSpec, run_workload

REMOTE_MS = 2
WARM_ROUNDS = 200  # the first rounds warm connections and code paths, untimed


def _us(seconds: float) -> float:
    return round(seconds * 1e6, 1)


async def interleaved(cache: CachedUserRepository, user_id: str, rounds: int) -> tuple[list[float], ...]:
    """(raw GET, cached hit, database path) times; the database every third round, as it is slower."""
    key = key_for(SCORE, user_id)
    client = cache.client  # the floor uses the cache's own client and connection pool
    raw: list[float] = []
    hit: list[float] = []
    db: list[float] = []
    for i in range(rounds + WARM_ROUNDS):
        for first in ((0, 1) if i % 2 else (1, 0)):  # alternate who goes first: no order bias
            t0 = time.perf_counter()
            if first:
                await client.get(key)
            else:
                lookup = await cache.latest_score(user_id)
                assert lookup.outcome == HIT, lookup
            if i >= WARM_ROUNDS:
                (raw if first else hit).append(time.perf_counter() - t0)
        if i % 3 == 0:
            t3 = time.perf_counter()
            await cache.from_database(SCORE, user_id)
            if i >= WARM_ROUNDS:
                db.append(time.perf_counter() - t3)
    return raw, hit, db


async def run(ctx: BenchContext) -> dict[str, Any]:
    users, reads, samples_n = (200, 2000, 500) if ctx.quick else (1000, 10_000, 3000)
    latency = Latency()  # one knob for both, as in the app
    engine = database.create_engine(ctx.url_for("cache"), latency=latency)
    connection = await redis_client.connect(ctx.redis_url, latency=latency)
    cache = CachedUserRepository(cache_client(connection), database.create_session_factory(engine),
                                 backend=connection.backend)
    try:
        await database.reset(engine)
        sessions = database.create_session_factory(engine)
        async with sessions() as session:
            await samples.load_samples(session, users, 1)
        async with sessions() as session:
            user_ids = list(await session.scalars(select(User.id).order_by(User.email)))
        await cache.invalidate_all()
        ctx.row("cache", "backends", f"{connection.backend} / {engine.dialect.name}")

        user_id = user_ids[0]
        await cache.latest_score(user_id)  # warm the key
        payload = await cache.client.get(key_for(SCORE, user_id))
        raw, hit, db = await interleaved(cache, user_id, samples_n)

        await cache.invalidate_all()
        await cache.reset_stats()
        workload = await run_workload(cache, user_ids, WorkloadSpec(reads=reads, skew=1.0, seed=7,
                                                                    compare_database=False))
        counters = await cache.server_counters()
        await cache.latest_score(user_id)  # the key again, after the workload's cold start
        latency.set(REMOTE_MS)
        _, remote_hit, remote_db = await interleaved(cache, user_id, 150 if ctx.quick else 600)
        latency.set(0)
    finally:
        await cache.invalidate_all()
        await cache.close()
        await connection.close()
        await engine.dispose()

    p = {name: (percentile(values, 50), percentile(values, 95)) for name, values in
         (("raw", raw), ("hit", hit), ("db", db), ("workload", workload.cached_s))}
    hit_ratio = cache.stats[SCORE].hit_ratio
    metrics: dict[str, Any] = {
        "cache_hit_ratio": round(hit_ratio, 4) if hit_ratio is not None else None,
        "cache_hit_over_raw_get": round(p["hit"][0] / p["raw"][0], 3),
        "cache_speedup_vs_db": round(p["db"][0] / p["hit"][0], 2),
        f"cache_speedup_vs_db_at_{REMOTE_MS}ms": round(percentile(remote_db, 50) / percentile(remote_hit, 50), 2),
        f"cache_hit_p50_us_at_{REMOTE_MS}ms": _us(percentile(remote_hit, 50)),
        f"cache_db_p50_us_at_{REMOTE_MS}ms": _us(percentile(remote_db, 50)),
        "cache_payload_bytes": len(payload or ""),
        "cache_workload_reads": reads,
        "cache_workload_users": users,
    }
    for name, label in (("raw", "raw_get"), ("hit", "hit"), ("db", "db"), ("workload", "workload")):
        metrics[f"cache_{label}_p50_us"], metrics[f"cache_{label}_p95_us"] = _us(p[name][0]), _us(p[name][1])
    if counters is not None:
        metrics["cache_server_keyspace_hits"] = counters["keyspace_hits"]
        metrics["cache_server_keyspace_misses"] = counters["keyspace_misses"]

    ctx.row("cache", f"raw GET p50 / p95 ({metrics['cache_payload_bytes']} B payload)",
            f"{metrics['cache_raw_get_p50_us']} / {metrics['cache_raw_get_p95_us']} µs")
    ctx.row("cache", "cached hit p50 / p95", f"{metrics['cache_hit_p50_us']} / {metrics['cache_hit_p95_us']} µs")
    ctx.row("cache", "database path p50 / p95", f"{metrics['cache_db_p50_us']} / {metrics['cache_db_p95_us']} µs")
    ctx.row("cache", "hit over raw GET (target <= 1.3)", f"{metrics['cache_hit_over_raw_get']}x")
    ctx.row("cache", "database over hit (target >= 3 on real Redis)", f"{metrics['cache_speedup_vs_db']}x")
    ctx.row("cache", f"at {REMOTE_MS} ms per round trip: hit / database p50",
            f"{metrics[f'cache_hit_p50_us_at_{REMOTE_MS}ms']} / {metrics[f'cache_db_p50_us_at_{REMOTE_MS}ms']} µs"
            f" = {metrics[f'cache_speedup_vs_db_at_{REMOTE_MS}ms']}x")
    ctx.row("cache", f"Zipf s=1 hit ratio, {reads:,} reads / {users:,} users (>= 0.9)", str(metrics["cache_hit_ratio"]))
    ctx.row("cache", "workload read p50 / p95",
            f"{metrics['cache_workload_p50_us']} / {metrics['cache_workload_p95_us']} µs")
    if counters is not None:
        ctx.row("cache", "Redis INFO keyspace hits / misses (server-wide)",
                f"{counters['keyspace_hits']} / {counters['keyspace_misses']}")
    return {"metrics": metrics, "environment": {"cache_redis_backend": connection.backend,
                                                "cache_database_dialect": engine.dialect.name}}
