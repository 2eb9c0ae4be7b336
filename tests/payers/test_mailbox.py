"""The mailbox contract, run on the local directory and on a real asyncssh SFTP server."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from pathlib import Path

import asyncssh
import pytest

from payers.mailbox import InvalidFileName, SftpMailbox
from tests.support.mailboxes import Box, box
from tests.support.sftp import sftp_server

__all__ = ["box"]


def drop(root: Path, folder: str, name: str, data: bytes, age: float = 0.0) -> None:
    """A file the other side left, `age` seconds old."""
    path = root / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))


async def test_put_writes_the_whole_file_to_outbound_and_leaves_no_partial(box: Box):
    await box.mailbox.put("278-a.x12", b"ISA*...~")

    assert (box.root / "outbound" / "278-a.x12").read_bytes() == b"ISA*...~"
    assert os.listdir(box.root / "outbound") == ["278-a.x12"]
    assert await box.mailbox.exists("278-a.x12")
    assert not await box.mailbox.exists("278-b.x12")


async def test_put_again_replaces_the_file_atomically(box: Box):
    await box.mailbox.put("batch.x12", b"first")
    await box.mailbox.put("batch.x12", b"second")

    assert (box.root / "outbound" / "batch.x12").read_bytes() == b"second"
    assert os.listdir(box.root / "outbound") == ["batch.x12"]


async def test_inbound_lists_oldest_first_and_skips_partials_and_folders(box: Box):
    drop(box.root, "inbound", "b-newer.x12", b"2", age=10)
    drop(box.root, "inbound", "a-older.x12", b"1", age=100)
    drop(box.root, "inbound", ".c.x12.1234.part", b"half", age=1000)
    (box.root / "inbound" / "subfolder").mkdir()

    assert await box.mailbox.list_inbound() == ["a-older.x12", "b-newer.x12"]
    assert await box.mailbox.read("a-older.x12") == b"1"


async def test_archive_moves_the_file_out_of_inbound_and_keeps_an_earlier_namesake(box: Box):
    drop(box.root, "inbound", "999.x12", b"first")
    await box.mailbox.archive("999.x12")
    drop(box.root, "inbound", "999.x12", b"second")
    await box.mailbox.archive("999.x12")

    assert await box.mailbox.list_inbound() == []
    archived = sorted((box.root / "archive").iterdir())
    assert [path.read_bytes() for path in archived] == [b"first", b"second"]


async def test_archiving_a_file_already_gone_is_not_an_error(box: Box):
    await box.mailbox.archive("never-there.x12")


async def test_reading_a_missing_file_raises_file_not_found(box: Box):
    with pytest.raises(FileNotFoundError):
        await box.mailbox.read("missing.x12")


@pytest.mark.parametrize("name", ["../escape", ".hidden", "a/b", "", "x.part", "bad name"])
async def test_names_that_are_not_one_plain_component_are_refused(box: Box, name: str):
    with pytest.raises(InvalidFileName):
        await box.mailbox.put(name, b"data")
    with pytest.raises(InvalidFileName):
        await box.mailbox.read(name)


async def test_the_clearinghouse_view_reads_what_we_put_and_we_read_what_it_puts(box: Box):
    await box.mailbox.put("278-out.x12", b"request")
    await box.peer.put("278-in.x12", b"response")

    assert await box.peer.list_inbound() == ["278-out.x12"]
    assert await box.peer.read("278-out.x12") == b"request"
    await box.peer.archive("278-out.x12")
    assert await box.mailbox.list_inbound() == ["278-in.x12"]
    assert not await box.mailbox.exists("278-out.x12")


async def test_concurrent_puts_of_different_files_all_arrive(box: Box):
    names = [f"f{i}.x12" for i in range(5)]
    await asyncio.gather(*(box.mailbox.put(name, name.encode()) for name in names))

    assert sorted(os.listdir(box.root / "outbound")) == names


async def test_sftp_refuses_a_server_whose_host_key_is_not_known(tmp_path: Path):
    async with sftp_server(tmp_path) as server:
        stranger = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
        known_hosts = tmp_path / "other_known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{server.endpoint.port} {stranger}")
        mailbox = SftpMailbox(replace(server.endpoint, known_hosts=known_hosts))

        with pytest.raises(asyncssh.HostKeyNotVerifiable):
            await mailbox.put("a.x12", b"data")
        assert not (server.root / "outbound" / "a.x12").exists()


async def test_sftp_refuses_a_client_key_the_server_does_not_know(tmp_path: Path):
    async with sftp_server(tmp_path) as server:
        other = tmp_path / "other_key"
        asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(other))
        mailbox = SftpMailbox(replace(server.endpoint, key_file=other))

        with pytest.raises(asyncssh.PermissionDenied):
            await mailbox.list_inbound()
