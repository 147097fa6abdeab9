"""`python -m qulab_gui.bench`: the labs' speed, measured as ratios against a floor from the same run.

Each case module (nplus1, cache, outbox, startup) has `async def run(ctx: BenchContext) -> dict`
returning {"metrics": {name: number or None}, "environment": {...}}, and prints its own rows
through `ctx.row`. Absolute numbers depend on the machine; the ratios
(cached hit over raw GET, outbox rate over raw XADD) are what the targets are about.
"""
