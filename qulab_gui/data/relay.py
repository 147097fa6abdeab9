"""The outbox publisher as a standalone relay process: `python -m qulab_gui.data.relay`.

The app runs the same `OutboxPublisher` on an app.timer; a relay is what a production system
runs beside its services. The crash tests start one and SIGKILL it between publish and mark.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from . import database
from .outbox import Faults, OutboxPublisher, PublisherConfig, default_name, publisher_client


async def run_relay(database_url: str, redis_url: str, *, name: str, config: PublisherConfig, interval_s: float,
                    hold_after_publish_s: float = 0.0, hold_from_tick: int = 1,
                    max_idle_ticks: int | None = None) -> None:
    """Tick forever (or until `max_idle_ticks` empty ticks in a row), printing one line per tick.

    A relay talks to the Redis it is given and nothing else: unlike the app, it never falls back
    to an in-process fakeredis, where its events would vanish. Its client gives up on a reply
    after a few seconds, so a hung broker is a transport failure and the breaker takes over.
    """
    engine = database.create_engine(database_url)
    redis = publisher_client(redis_url)
    faults = Faults()
    publisher = OutboxPublisher(database.create_session_factory(engine), redis, name=name, config=config,
                                faults=faults)
    idle = ticks = 0
    try:
        while max_idle_ticks is None or idle < max_idle_ticks:
            ticks += 1
            faults.hold_after_publish_s = hold_after_publish_s if ticks >= hold_from_tick else 0.0
            result = await publisher.tick()
            idle = idle + 1 if result.claimed == 0 else 0
            print(f"tick claimed={result.claimed} published={result.published} breaker={publisher.breaker.state} "
                  f"error={result.error}", flush=True)
            await asyncio.sleep(interval_s)
    finally:
        await redis.aclose()
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m qulab_gui.data.relay", description=run_relay.__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--name", default=default_name())
    parser.add_argument("--batch-size", type=int, default=PublisherConfig.batch_size)
    parser.add_argument("--lease-s", type=float, default=PublisherConfig.lease_s)
    parser.add_argument("--interval-s", type=float, default=0.5)
    parser.add_argument("--hold-after-publish-s", type=float, default=0.0,
                        help="sleep between publishing and marking (to aim a kill at that window)")
    parser.add_argument("--hold-from-tick", type=int, default=1, help="the first tick that holds")
    parser.add_argument("--max-idle-ticks", type=int, default=None)
    args = parser.parse_args(argv)
    config = PublisherConfig(batch_size=args.batch_size, lease_s=args.lease_s)
    asyncio.run(run_relay(args.database_url, args.redis_url, name=args.name, config=config,
                          interval_s=args.interval_s, hold_after_publish_s=args.hold_after_publish_s,
                          hold_from_tick=args.hold_from_tick, max_idle_ticks=args.max_idle_ticks))


if __name__ == "__main__":
    main()
