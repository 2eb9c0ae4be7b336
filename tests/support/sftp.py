"""An asyncssh SFTP server on 127.0.0.1 for the mailbox tests: keys made here, files in a dir."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from payers.mailbox import SftpEndpoint

USERNAME = "stepdown"


@dataclass(frozen=True)
class SftpServer:
    """A running server: its chroot on disk and how a client reaches it."""

    root: Path
    endpoint: SftpEndpoint
    host_key: asyncssh.SSHKey


def _write_client_files(directory: Path, port: int, host_key: asyncssh.SSHKey) -> SftpEndpoint:
    key_file = directory / "client_key"
    known_hosts = directory / "known_hosts"
    public = host_key.export_public_key().decode().strip()
    known_hosts.write_text(f"[127.0.0.1]:{port} {public}\n")
    return SftpEndpoint(
        host="127.0.0.1", port=port, username=USERNAME, key_file=key_file, known_hosts=known_hosts
    )


@asynccontextmanager
async def sftp_server(directory: Path) -> AsyncIterator[SftpServer]:
    """Serves `directory/root` over SFTP to the one client key it generates (user `stepdown`)."""
    root = directory / "root"
    root.mkdir(parents=True, exist_ok=True)
    keys = directory / "keys"
    keys.mkdir(exist_ok=True)
    host_key = asyncssh.generate_private_key("ssh-ed25519")

    def sftp_factory(channel: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
        return asyncssh.SFTPServer(channel, chroot=str(root).encode())

    client_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key.write_private_key(str(keys / "client_key"))
    authorized = keys / "authorized_keys"
    authorized.write_bytes(client_key.export_public_key())
    # Port 0: the OS picks a free port, which known_hosts then names.
    server = await asyncssh.listen(
        "127.0.0.1",
        0,
        server_host_keys=[host_key],
        authorized_client_keys=str(authorized),
        sftp_factory=sftp_factory,
        allow_scp=False,
    )
    try:
        port = server.sockets[0].getsockname()[1]
        endpoint = _write_client_files(keys, port, host_key)
        yield SftpServer(root, endpoint, host_key)
    finally:
        server.close()
        await server.wait_closed()
