"""Connecting to Redis: a real server is used, anything else falls back to fakeredis with the reason."""

import asyncio
import socket

from qulab_gui.data.redis_client import connect


async def test_a_refused_port_falls_back_to_fakeredis_with_the_reason() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    conn = await connect(f"redis://127.0.0.1:{port}/0")
    try:
        assert conn.backend == "fakeredis"
        assert "ConnectionError" in conn.reason and str(port) in conn.reason
        assert await conn.client.set("qulab:x", "1") and await conn.client.get("qulab:x") == "1"
    finally:
        await conn.close()


async def test_a_server_that_accepts_but_never_answers_falls_back_too() -> None:
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)  # accepts, stays silent
    port = server.sockets[0].getsockname()[1]
    try:
        conn = await connect(f"redis://:secret@127.0.0.1:{port}/0")
        assert conn.backend == "fakeredis"
        assert "TimeoutError" in conn.reason and "secret" not in conn.reason
        await conn.close()
    finally:
        server.close()


async def test_fake_is_forced_by_name() -> None:
    conn = await connect("fake")
    assert (conn.backend, conn.reason) == ("fakeredis", "forced with --redis-url fake")
    await conn.close()

