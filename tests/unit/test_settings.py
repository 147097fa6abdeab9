"""Settings and CLI: flags beat environment, defaults per the contract, bad values are one line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qulab_gui.settings import SettingsError, load_settings


def settings(argv: list[str], tmp_path: Path, **env: str):
    return load_settings(argv, {"QULAB_DATA_DIR": str(tmp_path), **env})


def test_defaults_are_loopback_free_port_sqlite_in_data_dir_and_local_redis(tmp_path: Path) -> None:
    s = settings([], tmp_path)
    assert s.host == "127.0.0.1" and s.is_loopback and s.token is None
    assert 1024 <= s.port <= 65535
    assert s.database_url == f"sqlite+aiosqlite:///{tmp_path / 'qulab.db'}"
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    assert s.mode == "native"


def test_default_data_dir_comes_from_platformdirs_not_the_working_directory(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", "")  # empty must behave like unset
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    s = load_settings([], {})
    assert s.data_dir.is_absolute()
    assert s.data_dir.name == "QuLab"
    assert tmp_path / "home" in s.data_dir.parents


def test_flags_win_over_environment(tmp_path: Path) -> None:
    s = settings(["--port", "9001", "--redis-url", "fake", "--headless"], tmp_path,
                 QULAB_PORT="9002", QULAB_REDIS_URL="redis://other:6379/0")
    assert (s.port, s.redis_url, s.mode) == (9001, "fake", "headless")


def test_environment_twins_are_read(tmp_path: Path) -> None:
    s = settings([], tmp_path, QULAB_PORT="9003", QULAB_HOST="0.0.0.0",
                 QULAB_DATABASE_URL="postgresql+asyncpg://u:secret@db/x", QULAB_TOKEN="t0k")
    assert (s.port, s.host, s.token) == (9003, "0.0.0.0", "t0k")
    assert s.database_url.startswith("postgresql+asyncpg://")


def test_off_loopback_a_token_is_generated(tmp_path: Path) -> None:
    s = settings(["--host", "0.0.0.0"], tmp_path)
    assert not s.is_loopback and s.token and len(s.token) >= 16


@pytest.mark.parametrize("argv,message", [
    (["--port", "70000"], "out of range"),
    (["--port", "0"], "out of range"),
    (["--port", "http"], "not a number"),
    (["--database-url", "not a url"], "not a database URL"),
    (["--database-url", "mysql://x/y"], "not supported"),
    (["--redis-url", "http://x"], "must start with redis://"),
    (["--host", "my host"], "not an IP address"),
])
def test_invalid_values_raise_a_one_line_error(tmp_path: Path, argv: list[str], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as info:
        settings(argv, tmp_path)
    assert "\n" not in str(info.value)


def test_unwritable_data_dir_is_rejected(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SettingsError, match="not writable"):
        load_settings(["--data-dir", str(blocker / "sub")], {})


def test_cli_prints_one_line_and_exits_non_zero(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "QULAB_"))}
    result = subprocess.run([sys.executable, "-m", "qulab_gui", "--port", "99999", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == "qulab: error: --port 99999 is out of range (1-65535)"
    assert "Traceback" not in result.stderr


def test_redis_passwords_are_masked_wherever_the_url_is_shown() -> None:
    from qulab_gui.data.redis_client import masked_url

    assert masked_url("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert masked_url("redis://student:pw@cache/1") == "redis://student:***@cache/1"
    assert masked_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_password_query_parameters_are_masked_and_the_url_keeps_its_form() -> None:
    from qulab_gui.data.redis_client import masked_url

    assert masked_url("redis://h/0?password=s3cret&ssl=1") == "redis://h/0?password=***&ssl=1"
    assert masked_url("unix:///run/redis.sock?db=2&password=x") == "unix:///run/redis.sock?db=2&password=***"
    assert masked_url("redis://u:p@[::1]:6379/0") == "redis://u:***@[::1]:6379/0"


@pytest.mark.parametrize("host", ["::1", "::"])
def test_ipv6_hosts_are_refused_in_one_line(tmp_path: Path, host: str) -> None:
    with pytest.raises(SettingsError, match="IPv6"):
        settings(["--host", host], tmp_path)


def test_a_windowed_first_launch_gets_a_console_log_in_a_new_data_dir(tmp_path: Path, monkeypatch) -> None:
    from qulab_gui.main import _guard_std_streams

    s = settings([], tmp_path / "fresh")
    monkeypatch.setattr("sys.stdout", None)
    monkeypatch.setattr("sys.stderr", None)
    _guard_std_streams(s)
    import sys

    print("hello from a windowed build")
    sys.stdout.flush()
    assert "hello from a windowed build" in (s.log_dir / "console.log").read_text()


def test_on_loopback_a_given_token_is_ignored_so_no_url_carries_one(tmp_path: Path) -> None:
    assert settings([], tmp_path, QULAB_TOKEN="t0k").token is None


# -- bad URLs, ports and tokens: exit 2, one line on stderr, never a password --------------------

BAD_VALUES = [  # (flags, environment, what the line must say); SECRETPW must never be shown
    (["--database-url", "postgresql+asyncpg://u:SECRETPW@h:notaport/d"], {},
     "--database-url 'postgresql+asyncpg://u:***@h:notaport/d' is not a database URL"),
    (["--database-url", "postgresql+asyncpg://u:SECRETPW@h:99999/d"], {}, "port out of range"),
    (["--redis-url", "redis://h:notaport/0"], {}, "--redis-url 'redis://h:notaport/0' is not a URL"),
    (["--redis-url", "redis://:SECRETPW@h:0/0"], {}, "--redis-url 'redis://:***@h:0/0' has a port out of range"),
    (["--redis-url", "http://:SECRETPW@h"], {}, "--redis-url 'http://:***@h' must start with redis://"),
    (["--port", "٨٠٨١"], {}, "--port '٨٠٨١' is not a number (digits 0-9)"),
    (["--port", " 8081"], {}, "is not a number"),
    (["--port", "+8081"], {}, "is not a number"),
    (["--host", "0.0.0.0"], {"QULAB_TOKEN": "SECRETPW room 42"}, "QULAB_TOKEN may only contain letters"),
    (["--host", "0.0.0.0"], {"QULAB_TOKEN": "SECRETPW<script>"}, "QULAB_TOKEN may only contain letters"),
    (["--classroom"], {"QULAB_INSTRUCTOR_TOKEN": "SECRETPW room"}, "QULAB_INSTRUCTOR_TOKEN may only contain"),
    (["--max-learners", "0"], {}, "--max-learners '0' must be a whole number from 1 to 500"),
    (["--max-learners", "sixty"], {}, "--max-learners 'sixty' must be a whole number"),
    ([], {"QULAB_IDLE_MINUTES": "-5"}, "QULAB_IDLE_MINUTES '-5' must be a whole number"),
]


def test_off_loopback_is_a_classroom_with_an_instructor_key_of_its_own(tmp_path: Path) -> None:
    room = load_settings(["--host", "0.0.0.0", "--data-dir", str(tmp_path)], env={"QULAB_TOKEN": "room-token"})
    assert room.classroom and room.max_learners == 60 and room.idle_minutes == 30
    assert room.instructor_token and room.instructor_token != room.token
    desktop = load_settings(["--data-dir", str(tmp_path)], env={})
    assert not desktop.classroom and desktop.instructor_token is None
    on_loopback = load_settings(["--classroom", "--max-learners", "25", "--data-dir", str(tmp_path)],
                                env={"QULAB_INSTRUCTOR_TOKEN": "teach"})
    assert on_loopback.classroom and on_loopback.token is None
    assert (on_loopback.max_learners, on_loopback.instructor_token) == (25, "teach")


def _run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path,
              argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    from qulab_gui.main import main

    for name in [name for name in os.environ if name.startswith("QULAB_")]:
        monkeypatch.delenv(name)
    for name, value in {"QULAB_DATA_DIR": str(tmp_path / "data"), **env}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    return exited.value.code, capsys.readouterr().err


@pytest.mark.parametrize("argv,env,message", BAD_VALUES)
def test_a_bad_value_exits_2_with_one_line_and_no_password(monkeypatch, capsys, tmp_path: Path, argv: list[str],
                                                            env: dict[str, str], message: str) -> None:
    code, stderr = _run_main(monkeypatch, capsys, tmp_path, argv, env)
    assert code == 2
    assert stderr.count("\n") == 1 and stderr.startswith("qulab: error: ")
    assert message in stderr
    assert "SECRETPW" not in stderr
    assert not (tmp_path / "data" / "qulab.db").exists()  # nothing written


def test_ascii_ports_and_plain_tokens_are_still_taken(tmp_path: Path) -> None:
    s = settings(["--port", "8081", "--host", "0.0.0.0"], tmp_path, QULAB_TOKEN="Room-42_a.b~c")
    assert (s.port, s.token) == (8081, "Room-42_a.b~c")
    s = settings(["--redis-url", "redis://:pw@cache:6380/2",
                  "--database-url", "postgresql+asyncpg://u:pw@db:5433/x"], tmp_path)
    assert s.redis_url == "redis://:pw@cache:6380/2" and s.database_url.endswith("@db:5433/x")


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    (tmp_path / "a-file").write_text("not a folder")
    return tmp_path / "a-file"


@pytest.mark.parametrize("database,message", [
    ("a-file/sub/qulab.db", "the folder of the SQLite file"),  # its folder cannot be created
    (".", "is not a writable file"),  # the "file" is a folder
])
def test_an_sqlite_file_that_cannot_be_opened_is_refused_before_start(monkeypatch, capsys, tmp_path: Path,
                                                                     a_file: Path, database: str,
                                                                     message: str) -> None:
    url = f"sqlite+aiosqlite:///{a_file.parent / database}"
    code, stderr = _run_main(monkeypatch, capsys, tmp_path, ["--database-url", url], {})
    assert code == 2 and stderr.count("\n") == 1
    assert message in stderr


def test_an_sqlite_file_in_a_new_folder_is_fine(tmp_path: Path) -> None:
    s = settings(["--database-url", f"sqlite+aiosqlite:///{tmp_path / 'new' / 'lab.db'}"], tmp_path)
    assert (tmp_path / "new").is_dir() and s.database_url.endswith("new/lab.db")


@pytest.mark.parametrize("argv", [
    ["--database-url", "postgresql+asyncpg://u:SECRETPW@h:notaport/d"],
    ["--redis-url", "http://:SECRETPW@h"],
])
def test_the_command_itself_prints_one_line_without_traceback_or_password(tmp_path: Path, argv: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "QULAB_"))}
    result = subprocess.run([sys.executable, "-m", "qulab_gui", *argv, "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("qulab: error: ")
    assert "Traceback" not in result.stderr and "SECRETPW" not in result.stderr
