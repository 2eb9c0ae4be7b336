"""The mailbox fixture: each test runs on a local directory and on a real SFTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from payers.mailbox import DirectoryMailbox, Mailbox, MailboxLayout, SftpMailbox
from tests.support.sftp import sftp_server


@dataclass(frozen=True)
class Box:
    """A mailbox under test, the directory its files land in, and the clearinghouse's view."""

    mailbox: Mailbox
    peer: Mailbox
    root: Path


@pytest.fixture(params=["directory", "sftp"])
async def box(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Box]:
    layout = MailboxLayout()
    if request.param == "directory":
        root = tmp_path / "mailbox"
        yield Box(DirectoryMailbox(root, layout), DirectoryMailbox(root, layout.peer()), root)
        return
    async with sftp_server(tmp_path) as server:
        endpoint = replace(server.endpoint, root="clearinghouse")
        yield Box(
            SftpMailbox(endpoint, layout),
            SftpMailbox(endpoint, layout.peer()),
            server.root / "clearinghouse",
        )
