"""Small network facts shared by settings and the data layer; imports nothing from qulab_gui.

It sits below every layer, so `settings` and `data` can both use it without importing each other.
"""

from __future__ import annotations

import re
import socket
from urllib.parse import quote, urlsplit

_PASSWORD_PARAMETER = re.compile(r"([?&]password=)[^&]*")

FAKE_REDIS = "fake"  # the --redis-url value that asks for the embedded fakeredis


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it), on `host`'s loopback or any interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host if host not in ("0.0.0.0", "localhost") else "127.0.0.1", 0))
        return sock.getsockname()[1]


def masked_redis_url(url: str) -> str:
    """A Redis URL fit to show: a password in the userinfo or in ?password= replaced by ***."""
    password = urlsplit(url).password
    if password:
        url = url.replace(f":{quote(password, safe='')}@", ":***@", 1).replace(f":{password}@", ":***@", 1)
    return _PASSWORD_PARAMETER.sub(r"\1***", url)
