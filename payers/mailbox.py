"""The clearinghouse mailbox port: files we put outbound, files we read inbound, then archive.

Two adapters behind one port: a local directory (the embedded default) and SFTP (asyncssh).
Both write outbound files atomically (a hidden temporary name, then a rename), so the
clearinghouse never picks up half a file, and both skip the other side's hidden partials.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import asyncssh

from settings import Settings

# One path component: no separators, no leading dot (dotfiles are partials being written).
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
PARTIAL_SUFFIX = ".part"


class InvalidFileName(ValueError):
    """A mailbox file name that is not one plain, visible path component."""


def check_name(name: str) -> str:
    if not FILE_NAME.fullmatch(name) or name.endswith(PARTIAL_SUFFIX):
        raise InvalidFileName(
            f"mailbox file name {name!r} must be letters, digits, '.', '_' or '-' "
            f"(at most 200), not start with a dot and not end with {PARTIAL_SUFFIX!r}"
        )
    return name


def is_visible(name: str) -> bool:
    return bool(FILE_NAME.fullmatch(name)) and not name.endswith(PARTIAL_SUFFIX)


def partial_name(name: str) -> str:
    return f".{name}.{uuid.uuid4().hex[:8]}{PARTIAL_SUFFIX}"


@dataclass(frozen=True)
class MailboxLayout:
    """The three folders of a mailbox, relative to its root.

    We write `outbound` and read `inbound`; the clearinghouse does the reverse, so its view
    of the same mailbox is `peer()`.
    """

    outbound: str = "outbound"
    inbound: str = "inbound"
    archive: str = "archive"

    def peer(self, archive: str = "taken") -> MailboxLayout:
        return MailboxLayout(outbound=self.inbound, inbound=self.outbound, archive=archive)


class Mailbox(Protocol):
    async def put(self, name: str, data: bytes) -> None:
        """Writes `data` to the outbound folder atomically; an existing file is replaced."""
        ...

    async def list_inbound(self) -> list[str]:
        """Visible inbound files, oldest first (then by name); partials are left out."""
        ...

    async def read(self, name: str) -> bytes:
        """An inbound file's bytes; FileNotFoundError when it is not there (any more)."""
        ...

    async def archive(self, name: str) -> None:
        """Moves an inbound file out of the way; a file already gone is not an error."""
        ...

    async def exists(self, name: str) -> bool:
        """Whether an outbound file of that name is still waiting for the clearinghouse."""
        ...


class DirectoryMailbox:
    """A mailbox on a local (or mounted) directory."""

    def __init__(self, root: Path, layout: MailboxLayout | None = None) -> None:
        self.root = Path(root)
        self.layout = layout or MailboxLayout()

    def _folder(self, name: str) -> Path:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    async def put(self, name: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, check_name(name), data)

    def _put(self, name: str, data: bytes) -> None:
        folder = self._folder(self.layout.outbound)
        temporary = folder / partial_name(name)
        try:
            with temporary.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, folder / name)
        finally:
            temporary.unlink(missing_ok=True)
        _fsync_directory(folder)

    async def list_inbound(self) -> list[str]:
        return await asyncio.to_thread(self._list_inbound)

    def _list_inbound(self) -> list[str]:
        folder = self.root / self.layout.inbound
        if not folder.is_dir():
            return []  # nothing has arrived yet; polling leaves no trace on disk
        found = []
        for entry in os.scandir(folder):
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file() and is_visible(entry.name):
                    found.append((entry.stat().st_mtime, entry.name))
        return [name for _, name in sorted(found)]

    async def read(self, name: str) -> bytes:
        path = self._folder(self.layout.inbound) / check_name(name)
        return await asyncio.to_thread(path.read_bytes)

    async def archive(self, name: str) -> None:
        await asyncio.to_thread(self._archive, check_name(name))

    def _archive(self, name: str) -> None:
        source = self._folder(self.layout.inbound) / name
        target = self._folder(self.layout.archive) / name
        if target.exists():
            # The clearinghouse may reuse a name; the earlier file stays as it was.
            target = target.with_name(f"{name}.{uuid.uuid4().hex[:8]}")
        with contextlib.suppress(FileNotFoundError):
            os.replace(source, target)

    async def exists(self, name: str) -> bool:
        path = self._folder(self.layout.outbound) / check_name(name)
        return await asyncio.to_thread(path.exists)


def _fsync_directory(folder: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


@dataclass(frozen=True)
class SftpEndpoint:
    """Where and as whom to reach the clearinghouse's SFTP server."""

    host: str
    username: str
    key_file: Path
    known_hosts: Path
    port: int = 22
    root: str = ""
    connect_timeout: float = 15.0


class SftpMailbox:
    """A mailbox on the clearinghouse's SFTP server; one connection per operation.

    The server's host key must be in `known_hosts`: an unknown key refuses the connection.
    """

    def __init__(self, endpoint: SftpEndpoint, layout: MailboxLayout | None = None) -> None:
        self.endpoint = endpoint
        self.layout = layout or MailboxLayout()

    def _path(self, folder: str, name: str = "") -> str:
        parts = [part for part in (self.endpoint.root.rstrip("/"), folder, name) if part]
        return "/".join(parts)

    @contextlib.asynccontextmanager
    async def _sftp(self) -> AsyncIterator[asyncssh.SFTPClient]:
        e = self.endpoint
        connection = await asyncssh.connect(
            e.host,
            port=e.port,
            username=e.username,
            client_keys=[str(e.key_file)],
            known_hosts=str(e.known_hosts),
            connect_timeout=e.connect_timeout,
            # Only the key: a password prompt or an agent key must never stand in for it.
            agent_path=None,
            password=None,
        )
        async with connection, connection.start_sftp_client() as sftp:
            yield sftp

    async def put(self, name: str, data: bytes) -> None:
        check_name(name)
        folder = self._path(self.layout.outbound)
        temporary = self._path(self.layout.outbound, partial_name(name))
        async with self._sftp() as sftp:
            await sftp.makedirs(folder, exist_ok=True)
            try:
                async with sftp.open(temporary, "wb") as handle:
                    await handle.write(data)
                    await _fsync_remote(handle)
                await _replace(sftp, temporary, self._path(self.layout.outbound, name))
            finally:
                with contextlib.suppress(asyncssh.SFTPError):
                    await sftp.remove(temporary)

    async def list_inbound(self) -> list[str]:
        async with self._sftp() as sftp:
            folder = self._path(self.layout.inbound)
            await sftp.makedirs(folder, exist_ok=True)
            entries = await sftp.readdir(folder)
        found = [
            (entry.attrs.mtime or 0, str(entry.filename))
            for entry in entries
            if entry.attrs.type == asyncssh.FILEXFER_TYPE_REGULAR
            and is_visible(str(entry.filename))
        ]
        return [name for _, name in sorted(found)]

    async def read(self, name: str) -> bytes:
        path = self._path(self.layout.inbound, check_name(name))
        async with self._sftp() as sftp:
            try:
                async with sftp.open(path, "rb") as handle:
                    data: bytes = await handle.read()
                    return data
            except asyncssh.SFTPNoSuchFile:
                raise FileNotFoundError(path) from None

    async def archive(self, name: str) -> None:
        source = self._path(self.layout.inbound, check_name(name))
        async with self._sftp() as sftp:
            await sftp.makedirs(self._path(self.layout.archive), exist_ok=True)
            target = self._path(self.layout.archive, name)
            if await sftp.exists(target):
                target = f"{target}.{uuid.uuid4().hex[:8]}"
            with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                await sftp.rename(source, target)

    async def exists(self, name: str) -> bool:
        path = self._path(self.layout.outbound, check_name(name))
        async with self._sftp() as sftp:
            found: bool = await sftp.exists(path)
            return found


async def _fsync_remote(handle: asyncssh.SFTPClientFile) -> None:
    # fsync@openssh.com is an extension; a server without it still gets the rename below.
    with contextlib.suppress(asyncssh.SFTPOpUnsupported):
        await handle.fsync()


async def _replace(sftp: asyncssh.SFTPClient, source: str, target: str) -> None:
    """Rename over an existing file: posix-rename where offered, else remove then rename."""
    try:
        await sftp.posix_rename(source, target)
    except asyncssh.SFTPOpUnsupported:
        with contextlib.suppress(asyncssh.SFTPNoSuchFile):
            await sftp.remove(target)
        await sftp.rename(source, target)


def configured_mailbox(settings: Settings, layout: MailboxLayout | None = None) -> Mailbox:
    """The settings' mailbox: SFTP when a host is set, else the local directory."""
    layout = layout or MailboxLayout(
        outbound=settings.mailbox_outbound,
        inbound=settings.mailbox_inbound,
        archive=settings.mailbox_archive,
    )
    if settings.mailbox_sftp_host is None:
        return DirectoryMailbox(settings.mailbox_directory(), layout)
    # Settings refuse an SFTP host without these three (settings._sftp_mailbox_complete).
    assert settings.mailbox_sftp_user and settings.mailbox_sftp_key_file
    assert settings.mailbox_sftp_known_hosts
    endpoint = SftpEndpoint(
        host=settings.mailbox_sftp_host,
        port=settings.mailbox_sftp_port,
        username=settings.mailbox_sftp_user,
        key_file=settings.mailbox_sftp_key_file,
        known_hosts=settings.mailbox_sftp_known_hosts,
        root=settings.mailbox_sftp_root,
    )
    return SftpMailbox(endpoint, layout)
