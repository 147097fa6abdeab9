"""One QuLab per data dir: a second one is refused with a message, and a dead one leaves no lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qulab_gui import instance


def test_second_claim_on_the_same_data_dir_is_refused_with_who_holds_it(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, pathlib; from qulab_gui import instance; "
         "h = instance.claim(pathlib.Path(sys.argv[1]), 'http://127.0.0.1:8123/'); print('held', flush=True); "
         "sys.stdin.read()", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(instance.AlreadyRunning) as refused:
            instance.claim(tmp_path, "http://127.0.0.1:9000/")
        message = str(refused.value)
        assert str(tmp_path) in message
        assert f"pid {holder.pid}" in message and "http://127.0.0.1:8123/" in message
        assert "--data-dir" in message
    finally:
        holder.kill()  # no clean exit: the OS must still release the lock
        holder.wait()
    handle = instance.claim(tmp_path, "http://127.0.0.1:9000/")
    handle.close()


def test_other_data_dirs_are_independent(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = instance.claim(tmp_path / "a", "http://127.0.0.1:8001/")
    second = instance.claim(tmp_path / "b", "http://127.0.0.1:8002/")
    with pytest.raises(instance.AlreadyRunning):
        instance.claim(tmp_path / "a", "http://127.0.0.1:8003/")
    first.close()
    second.close()


def test_a_refused_second_instance_can_find_the_running_one(tmp_path) -> None:
    held = instance.claim(tmp_path, "http://127.0.0.1:4321/")
    try:
        assert instance.running_url(tmp_path) == "http://127.0.0.1:4321/"
    finally:
        held.close()


def test_no_url_is_guessed_for_a_data_dir_nobody_claimed(tmp_path) -> None:
    assert instance.running_url(tmp_path) is None
