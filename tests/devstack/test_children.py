"""Child processes: ports in use are named with their setting; stopping leaves nothing behind."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from devstack.children import Child, ChildDied, PortInUse, ensure_free, stop_all


def pid_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (read from /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_port_in_use_names_the_port_and_the_setting():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse) as caught:
            ensure_free("127.0.0.1", port, "STEPDOWN_API_PORT")

    assert str(port) in str(caught.value)
    assert "STEPDOWN_API_PORT" in str(caught.value)


def test_a_free_port_passes():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ensure_free("127.0.0.1", port, "STEPDOWN_API_PORT")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_stopping_kills_the_whole_process_group_even_grandchildren(tmp_path: Path):
    pids = tmp_path / "pids"
    script = f"sleep 60 & echo $! > {pids}; trap '' TERM; wait"
    child = Child("stubborn", ["sh", "-c", script], tmp_path / "stubborn.log")
    child.start()
    while not pids.exists() or not pids.read_text().strip():
        time.sleep(0.01)
    grandchild = int(pids.read_text())

    stop_all([child], grace=0.5)

    assert not child.alive()
    assert not pid_alive(grandchild)


def test_a_dead_child_is_reported_with_its_exit_code_and_log(tmp_path: Path):
    code = "import sys; print('boom: database locked'); sys.exit(3)"
    child = Child("worker", [sys.executable, "-c", code], tmp_path / "worker.log")
    child.start()
    assert child.process is not None
    child.process.wait()

    with pytest.raises(ChildDied) as caught:
        child.check()

    assert "worker exited with code 3" in str(caught.value)
    assert "boom: database locked" in str(caught.value)


def test_a_child_runs_in_its_own_process_group(tmp_path: Path):
    child = Child("sleeper", ["sleep", "30"], tmp_path / "sleeper.log")
    child.start()
    try:
        assert child.pid is not None
        assert os.getpgid(child.pid) == child.pid != os.getpgid(0)
    finally:
        stop_all([child], grace=1.0)


def test_a_killed_child_is_reported_with_the_signal(tmp_path: Path):
    child = Child("api", ["sleep", "30"], tmp_path / "api.log")
    child.start()
    child.signal_group(signal.SIGKILL)
    assert child.process is not None
    child.process.wait()

    with pytest.raises(ChildDied, match="api was killed by SIGKILL"):
        child.check()
