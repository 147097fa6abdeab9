"""A private `redis-server` on a free loopback port, for the outage tests and the outage benchmark.

It is started and stopped by PID (never by name), in its own temp directory, so stopping it can
never touch another Redis on the machine. With `persistent=True` it keeps an append-only file:
stopped with SIGTERM, Redis writes it out, and a restart on the same port and directory comes back
with its data, as a production broker restarted by its operator would.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from qulab_gui.net import free_port

START_TIMEOUT_S = 10.0


def available() -> str | None:
    """The reason a private server cannot be started, or None if it can."""
    return None if shutil.which("redis-server") else "redis-server is not on PATH"


class RedisServer:
    def __init__(self, directory: Path, *, persistent: bool = True, port: int | None = None) -> None:
        self.directory = directory
        self.persistent = persistent
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> RedisServer:
        """Start (or restart, with its data) and return once it answers PING."""
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--dir", str(self.directory), "--save", "", "--daemonize", "no", "--protected-mode", "no",
                   "--appendonly", "yes" if self.persistent else "no", "--appendfsync", "always",
                   "--logfile", str(self.directory / "redis.log")]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"redis-server on port {self.port} did not start:\n{log}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """SIGTERM by PID and wait: Redis flushes its append-only file and exits."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def pause(self, seconds: float) -> None:
        """CLIENT PAUSE: the server keeps its connections open but answers nobody for `seconds`."""
        with redis.Redis(port=self.port, socket_timeout=2) as client:
            client.execute_command("CLIENT", "PAUSE", int(seconds * 1000), "ALL")

    def _answers(self) -> bool:
        try:
            with redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5) as client:
                return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
