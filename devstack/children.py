"""Child processes of the dev stack: each in its own process group, logged to a file."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1


class StackError(Exception):
    """The dev stack cannot start or keep running; the message says what to do."""


class PortInUse(StackError):
    def __init__(self, host: str, port: int, setting: str) -> None:
        super().__init__(
            f"port {port} on {host} is already in use; stop whatever listens there "
            f"or choose another port with the {setting} setting"
        )
        self.port = port
        self.setting = setting


class ChildDied(StackError):
    def __init__(self, child: Child) -> None:
        tail = "\n".join(f"    {line}" for line in child.log_tail())
        code = child.returncode or 0
        how = (
            f"was killed by {signal.Signals(-code).name}"
            if code < 0
            else f"exited with code {code}"
        )
        super().__init__(f"{child.name} {how}; last lines of {child.log}:\n{tail}")
        self.child = child


def ensure_free(host: str, port: int, setting: str) -> None:
    """Raise PortInUse unless a listener could bind `host:port` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As servers do, so a port in TIME_WAIT from the last run counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            if err.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUse(host, port, setting) from None
            raise


def _die_with_parent() -> None:
    # Linux only: the child gets SIGTERM if the supervisor itself is killed (even SIGKILL),
    # so no server outlives a crashed `stepdown dev`.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    log: Path
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:  # one log per run, so its tail is this run's
            self.process = subprocess.Popen(
                list(self.argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(self.env),
                cwd=self.cwd,
                start_new_session=True,  # its own process group: Ctrl-C reaches only us
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check(self) -> None:
        if self.process is not None and not self.alive():
            raise ChildDied(self)

    def signal_group(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        # The group outlives its leader when the leader forked; signal it either way.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def log_tail(self, lines: int = 15) -> list[str]:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return []
        return text.splitlines()[-lines:]


def stop_all(children: Sequence[Child], grace: float) -> None:
    """SIGTERM every group, wait up to `grace` seconds, then SIGKILL what is left."""
    for child in children:
        if child.alive():
            child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(child.alive() for child in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    for child in children:
        child.signal_group(signal.SIGKILL)
        if child.process is not None:
            child.process.wait()
