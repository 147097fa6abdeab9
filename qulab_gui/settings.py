"""One frozen `Settings` object, built from CLI flags and their QULAB_* environment twins.

Precedence: a flag on the command line wins over its environment variable, which wins over the
default. Every invalid value raises `SettingsError` with a one-line message; `main()` prints it and
exits non-zero instead of showing a traceback.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from platformdirs import user_data_dir
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from qulab_gui.net import FAKE_REDIS, free_port, masked_redis_url

APP_NAME = "QuLab"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SUPPORTED_DRIVERS = {"sqlite+aiosqlite", "postgresql+asyncpg"}
# The token travels in URLs and a cookie value: characters that need no quoting in either.
TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9._~-]+")
DEFAULT_MAX_LEARNERS, MAX_LEARNERS_LIMIT = 60, 500
DEFAULT_IDLE_MINUTES = 30


class SettingsError(ValueError):
    """An invalid flag or environment value, with a message fit for one line on stderr."""


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    database_url: str
    redis_url: str
    data_dir: Path
    mode: str  # "native", "browser" or "headless": what the user asked for
    reset: bool = False
    token: str | None = None
    # A classroom server gives each browser a sandbox of its own (lab/classroom.py); the desktop has one.
    classroom: bool = False
    max_learners: int = DEFAULT_MAX_LEARNERS
    idle_minutes: int = DEFAULT_IDLE_MINUTES  # an idle sandbox's timers stop after this long
    instructor_token: str | None = None  # opens /instructor; set whenever `classroom` is

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "nicegui"


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_data_dir() -> Path:
    if os.environ.get("XDG_DATA_HOME") == "":
        # platformdirs would return a relative path for an empty variable; unset means the default
        return Path.home() / ".local" / "share" / APP_NAME
    return Path(user_data_dir(APP_NAME, appauthor=False))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qulab",
        description="QuLab: learn how a Python backend's data layer scales, with real measurements.",
    )
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--browser", action="store_true", help="open a browser tab instead of a native window")
    shown.add_argument("--headless", action="store_true", help="serve only, open nothing, print the URL")
    parser.add_argument("--host", help="interface to bind (default 127.0.0.1; env QULAB_HOST)")
    parser.add_argument("--port", help="port to serve on (default: a free port; env QULAB_PORT)")
    parser.add_argument("--database-url", help="SQLAlchemy async URL (env QULAB_DATABASE_URL)")
    parser.add_argument("--redis-url", help="redis:// URL, or 'fake' for fakeredis (env QULAB_REDIS_URL)")
    parser.add_argument("--data-dir", help="where the database, logs and storage live (env QULAB_DATA_DIR)")
    parser.add_argument("--reset", action="store_true", help="drop and recreate the lab database at start")
    parser.add_argument("--classroom", action="store_true",
                        help="a sandbox per learner (the default off loopback; env QULAB_CLASSROOM=1)")
    parser.add_argument("--max-learners", help=f"sandboxes open at once (default {DEFAULT_MAX_LEARNERS}; "
                                               "env QULAB_MAX_LEARNERS)")
    return parser


def load_settings(argv: list[str] | None = None, env: dict[str, str] | None = None) -> Settings:
    """Parse flags (argv) and environment (env) into validated Settings."""
    env = dict(os.environ if env is None else env)
    args = build_parser().parse_args([] if argv is None else argv)

    def pick(flag: str | None, name: str) -> str | None:
        value = flag if flag not in (None, "") else env.get(name)
        return value if value not in (None, "") else None

    host = pick(args.host, "QULAB_HOST") or "127.0.0.1"
    _check_host(host)
    port_text = pick(args.port, "QULAB_PORT")
    port = _parse_port(port_text) if port_text else free_port(host)

    data_dir = Path(pick(args.data_dir, "QULAB_DATA_DIR") or default_data_dir()).expanduser().resolve()
    _ensure_writable(data_dir)

    database_url = pick(args.database_url, "QULAB_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'qulab.db'}"
    _check_database_url(database_url)
    redis_url = pick(args.redis_url, "QULAB_REDIS_URL") or DEFAULT_REDIS_URL
    _check_redis_url(redis_url)
    chosen_token = _secret(env, "QULAB_TOKEN")
    classroom = not is_loopback_host(host) or args.classroom or env.get("QULAB_CLASSROOM") == "1"
    max_learners = _parse_count(pick(args.max_learners, "QULAB_MAX_LEARNERS"), "--max-learners",
                                DEFAULT_MAX_LEARNERS, MAX_LEARNERS_LIMIT)
    idle_minutes = _parse_count(env.get("QULAB_IDLE_MINUTES"), "QULAB_IDLE_MINUTES", DEFAULT_IDLE_MINUTES, 24 * 60)
    instructor_token = _secret(env, "QULAB_INSTRUCTOR_TOKEN")

    mode = "headless" if args.headless else "browser" if args.browser else "native"
    return Settings(
        host=host,
        port=port,
        database_url=database_url,
        redis_url=redis_url,
        data_dir=data_dir,
        mode=mode,
        reset=args.reset,
        # Off loopback every request needs a token: the instructor's own, or one made up now. On loopback
        # there is none, so nothing downstream has to ask both questions.
        token=None if is_loopback_host(host) else chosen_token or secrets.token_urlsafe(16),
        classroom=classroom,
        max_learners=max_learners,
        idle_minutes=idle_minutes,
        # Students know the room's token; the instructor view needs one of its own.
        instructor_token=(instructor_token or secrets.token_urlsafe(16)) if classroom else None,
    )


def _secret(env: dict[str, str], name: str) -> str | None:
    value = env.get(name) or None
    if value and not TOKEN_ALPHABET.fullmatch(value):  # never echoed: it is a secret
        raise SettingsError(f"{name} may only contain letters A-Z a-z, digits and - _ . ~")
    return value


def _parse_count(text: str | None, name: str, default: int, limit: int) -> int:
    if text is None or text == "":
        return default
    if not re.fullmatch(r"[0-9]+", text) or not 1 <= int(text) <= limit:
        raise SettingsError(f"{name} {text!r} must be a whole number from 1 to {limit}")
    return int(text)


def _check_host(host: str) -> None:
    if host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise SettingsError(f"--host {host!r} is not an IP address (use 127.0.0.1 or 0.0.0.0)") from None
    if address.version != 4:
        raise SettingsError(f"--host {host!r} is IPv6; QuLab serves on IPv4 (use 127.0.0.1 or 0.0.0.0)")


def _parse_port(text: str) -> int:
    # ASCII digits only: int() would also take "٨٠٨١", " 80", "+80" and "8_0"
    if not re.fullmatch(r"[0-9]+", text):
        raise SettingsError(f"--port {text!r} is not a number (digits 0-9)")
    port = int(text)
    if not 1 <= port <= 65535:
        raise SettingsError(f"--port {port} is out of range (1-65535)")
    return port


def _ensure_writable(path: Path, what: str = "data dir") -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise SettingsError(f"{what} {str(path)!r} is not writable: {error.strerror or error}") from None


def _shown(url: str) -> str:
    """`url` fit for the terminal: never with its password."""
    try:
        return masked_redis_url(url)
    except ValueError:  # too malformed to find the password in: show none of it
        return "(unparseable URL)"


def _check_database_url(url: str) -> None:
    shown = _shown(url)
    try:
        parsed = make_url(url)
        port = parsed.port  # a port that is no number raises here, not at the first connection
    except (ArgumentError, ValueError):
        raise SettingsError(f"--database-url {shown!r} is not a database URL (host, port or form)") from None
    if port is not None and not 1 <= port <= 65535:
        raise SettingsError(f"--database-url {shown!r} has a port out of range (1-65535)")
    if parsed.drivername not in SUPPORTED_DRIVERS:
        supported = ", ".join(sorted(SUPPORTED_DRIVERS))
        raise SettingsError(f"--database-url driver {parsed.drivername!r} is not supported (use {supported})")
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        _check_sqlite_file(Path(parsed.database).expanduser().resolve())


def _check_sqlite_file(file: Path) -> None:
    """The SQLite file can be created or written: else the labs would fail only after start."""
    _ensure_writable(file.parent, "--database-url: the folder of the SQLite file")
    if file.exists() and (not file.is_file() or not os.access(file, os.R_OK | os.W_OK)):
        raise SettingsError(f"--database-url: the SQLite file {str(file)!r} is not a writable file")


def _check_redis_url(url: str) -> None:
    if url == FAKE_REDIS:
        return
    shown = _shown(url)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"--redis-url {shown!r} must start with redis://, rediss:// or unix://, or be 'fake'")
    try:
        port = urlsplit(url).port  # redis-py would raise this only at the first connection
    except ValueError:
        raise SettingsError(f"--redis-url {shown!r} is not a URL (host, or a port 1-65535)") from None
    if port == 0:
        raise SettingsError(f"--redis-url {shown!r} has a port out of range (1-65535)")
