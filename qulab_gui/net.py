"""Small network facts shared by settings and the data layer; imports nothing from qulab_gui.

It sits below every layer, so `settings` and `data` can both use it without importing each other.
"""

from __future__ import annotations

import socket

FAKE_REDIS = "fake"  # the --redis-url value that asks for the embedded fakeredis


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it), on `host`'s loopback or any interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host if host not in ("0.0.0.0", "localhost") else "127.0.0.1", 0))
        return sock.getsockname()[1]
