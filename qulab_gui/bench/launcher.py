"""Start QuLab as a user does (a separate process, from source or frozen) and watch it.

The startup benchmark and the end-to-end tests both need a real QuLab process: started with
its own data dir, waited for until `/api/health` answers, stopped with SIGTERM or by closing its
window. (Which processes it left behind is the e2e tests' question: tests/e2e/processes.py.)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from qulab_gui.net import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
# what `pyinstaller build.spec` leaves under dist/, and the server-only build the e2e tests make
FROZEN_CANDIDATES = ("dist/QuLab/QuLab", "dist/QuLab-server/QuLab-server", "dist/QuLab",
                     "build/e2e/dist/QuLab-server/QuLab-server", "build/e2e/dist/QuLab/QuLab")
SERVING = "QuLab serving at "  # the line main() prints with the URL


def source_command() -> list[str]:
    return [sys.executable, "-m", "qulab_gui"]


def find_frozen() -> Path | None:
    """The executable built from build.spec: $QULAB_FROZEN_EXE, else the newest one under dist/."""
    if os.environ.get("QULAB_FROZEN_EXE"):
        path = Path(os.environ["QULAB_FROZEN_EXE"])
        return path if path.is_file() else None
    suffix = ".exe" if sys.platform == "win32" else ""
    found = [REPO_ROOT / f"{name}{suffix}" for name in FROZEN_CANDIDATES]
    found = [path for path in found if path.is_file() and os.access(path, os.X_OK)]
    return max(found, key=lambda path: path.stat().st_mtime) if found else None


def child_environment(**extra: str) -> dict[str, str]:
    """This environment without what would confuse the child.

    PYTEST_* makes NiceGUI believe it runs under its own test plugin; NICEGUI_* and QULAB_* from
    the caller (a test run, a CI job) would override the flags the caller passes on purpose.
    """
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST_", "NICEGUI_", "QULAB_"))}
    env.update(extra)
    return env



@dataclass
class RunningApp:
    process: subprocess.Popen
    port: int
    data_dir: Path  # where its database and log live
    output: Path  # stdout and stderr of the process
    started: float  # time.perf_counter() just before the launch
    token: str | None = None
    label: str = ""  # e.g. "source" or "frozen", for reports and screenshot names
    returncode: int | None = field(default=None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "qulab.log"

    def output_text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def printed_url(self, timeout: float = 30.0) -> str:
        """The URL the app printed at start (with `?token=` when it serves beyond loopback)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for line in self.output_text().splitlines():
                if line.startswith(SERVING):
                    return line.removeprefix(SERVING).strip()
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"QuLab printed no URL:\n{self.output_text()[-3000:]}")

    def health(self, timeout: float = 2.0) -> dict | None:
        """The /api/health answer, or None while nothing answers."""
        request = urllib.request.Request(f"{self.url}/api/health")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def wait_healthy(self, timeout: float = 30.0) -> float:
        """Seconds from launch to the first /api/health answer; raises if it dies or never answers."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"QuLab exited with {self.process.returncode} before answering:\n"
                                   f"{self.output_text()[-3000:]}")
            if self.health(timeout=1.0) is not None:
                return time.perf_counter() - self.started
            time.sleep(0.02)
        raise TimeoutError(f"QuLab did not answer /api/health within {timeout:.0f} s:\n{self.output_text()[-3000:]}")

    def wait_for_log(self, text: str, timeout: float = 30.0) -> float:
        """Seconds from launch until `text` appears in the app's log file."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.log_file.exists() and text in self.log_file.read_text(errors="replace"):
                return time.perf_counter() - self.started
            if self.process.poll() is not None:
                raise RuntimeError(f"QuLab exited with {self.process.returncode}:\n{self.output_text()[-3000:]}")
            time.sleep(0.02)
        raise TimeoutError(f"{text!r} not logged within {timeout:.0f} s:\n{self.output_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send `sig` and wait; kills the whole process group if it does not end in time."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        return self.returncode

    def kill(self) -> None:
        """Last resort for a test that failed half way: nothing may outlive it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def launch(command: list[str], data_dir: Path, *args: str, cwd: Path | None = None, port: int | None = None,
           env: dict[str, str] | None = None, token: str | None = None, pass_data_dir: bool = True,
           label: str = "", output_dir: Path | None = None) -> RunningApp:
    """Start QuLab (`command` is source_command() or [frozen executable]) on a free port.

    `data_dir` is passed as --data-dir, or with `pass_data_dir=False` only noted as where the app
    will put its data by itself (its default under $HOME). Its output goes to a file in
    `output_dir` (default: beside the data dir).
    """
    output_dir = output_dir or data_dir.parent
    output_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    output = output_dir / f"{data_dir.name}-output-{port}.txt"
    arguments = [*command, "--port", str(port), *(["--data-dir", str(data_dir)] if pass_data_dir else []), *args]
    started = time.perf_counter()
    with open(output, "wb") as sink:
        process = subprocess.Popen(
            arguments,
            cwd=cwd or output_dir, env=env if env is not None else child_environment(),
            stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a failed test can end it and all its children
        )
    return RunningApp(process, port, data_dir, output, started, token, label)
