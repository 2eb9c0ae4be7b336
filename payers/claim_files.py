"""Where claim batch files go: the `ClaimFileSink` port and its local-directory adapter."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

# A file name, never a path: a sink writes inside its own directory only.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class ClaimFileSink(Protocol):
    async def put(self, name: str, data: bytes) -> None:
        """Store `data` as `name`, whole or not at all; putting the same name again replaces
        it (a retried put of the same batch file is harmless)."""
        ...


def check_name(name: str) -> str:
    if not SAFE_NAME.fullmatch(name) or name.startswith(".") or ".." in name:
        raise ValueError(f"{name!r} is not a plain file name")
    return name


class LocalDirectorySink:
    """Writes each file atomically: a temporary file in the same directory, flushed to disk,
    then renamed, so a reader (a clearinghouse agent) never sees half a batch."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def put(self, name: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, check_name(name), data)

    def _write(self, name: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # The dot prefix keeps pickup agents that skip hidden files off the partial file.
        fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.directory / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _sync_directory(self.directory)


def _sync_directory(directory: Path) -> None:
    # The rename itself is durable only once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
