"""The local-directory claim file sink: whole files or none, replaced by a repeat, names only."""

from __future__ import annotations

from pathlib import Path

import pytest

from payers.claim_files import LocalDirectorySink


async def test_a_put_writes_the_whole_file_and_no_temporary_is_left(tmp_path: Path) -> None:
    sink = LocalDirectorySink(tmp_path / "outbound")

    await sink.put("837I-CB0000001.x12", b"ISA*00~")

    assert (tmp_path / "outbound" / "837I-CB0000001.x12").read_bytes() == b"ISA*00~"
    assert [p.name for p in (tmp_path / "outbound").iterdir()] == ["837I-CB0000001.x12"]


async def test_putting_the_same_name_again_replaces_the_file(tmp_path: Path) -> None:
    sink = LocalDirectorySink(tmp_path)

    await sink.put("batch.x12", b"first")
    await sink.put("batch.x12", b"second")

    assert (tmp_path / "batch.x12").read_bytes() == b"second"


@pytest.mark.parametrize("name", ["../escape.x12", "sub/dir.x12", ".hidden", "", "a" * 300])
async def test_a_name_that_is_not_a_plain_file_name_is_refused(tmp_path: Path, name: str) -> None:
    sink = LocalDirectorySink(tmp_path / "outbound")

    with pytest.raises(ValueError, match="plain file name"):
        await sink.put(name, b"x")

    assert not (tmp_path / "escape.x12").exists()


async def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = LocalDirectorySink(tmp_path)

    def broken_replace(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("payers.claim_files.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        await sink.put("batch.x12", b"data")

    assert list(tmp_path.iterdir()) == []
