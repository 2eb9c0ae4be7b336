"""PHI at rest beyond the event store: the claims outbox's billing, 837I batch files,
submitted payloads, X12 278 files and the search keys hold no readable member id or patient
name; their readers still work; `stepdown db reencrypt` moves them to a rotated key and
`stepdown events verify` still passes (SQLite and PostgreSQL; raw rows read with plain SQL).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from cli import app
from settings import get_settings
from store.attachments import SqlAttachments
from store.db import alembic_config, make_engine
from store.notes import SqlNotes
from store.phi import PhiCipher, UnreadablePhi
from store.phi_rows import seal_v1
from store.sql import SqlReadModel
from store.sql_claims import SqlClaimBatches
from store.sql_payers import SqlSubmissionLog
from store.submissions import NewSubmission
from store.x12_ledger import SqlX12Ledger, X12Submission
from tests.support.claim_events import ReleasingEpisode
from tests.support.db import DATABASES, migrated_database
from tests.support.domain_factories import opened_event
from tests.support.intake import ADDRESS, ATTENDING
from tests.support.submitter import SUBMITTER
from tests.support.x12valid import x12_errors
from workflows.codec import EncryptionCodec

KEY_A, KEY_B = bytes(range(32)), bytes(range(1, 33))
CIPHER_A = PhiCipher({"a": KEY_A}, "a")
MEMBER = "MBRZQX4471"
NAME = "Quintessa Marlowe"
SECRETS = (MEMBER, MEMBER.lower(), "Quintessa", "QUINTESSA", "quintessa", "Marlowe", "MARLOWE")
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=DATABASES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with migrated_database(request.param, tmp_path) as made:
        yield made


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    created = make_engine(url)
    yield created
    created.dispose()


class Written:
    def __init__(self, episode_id: str, batch_id: str, submission_key: str, x12_key: str):
        self.episode_id = episode_id
        self.batch_id = batch_id
        self.submission_key = submission_key
        self.x12_key = x12_key


def write_everything(engine: Engine, cipher: PhiCipher) -> Written:
    """One episode opened and billed, its batch cut, a PAS payload and a 278 stored."""
    episode = ReleasingEpisode()
    patient = {
        "id": "P-9",
        "name": NAME,
        "birth_date": date(1990, 4, 1),
        "member_id": MEMBER,
        "address": ADDRESS,  # the 837I's subscriber address (2010BA)
    }
    episode.opened = opened_event(patient=patient, attending=ATTENDING)
    episode.episode_id = episode.opened.episode_id
    read_model = SqlReadModel(engine, cipher)
    read_model.apply(*episode.opening(), claims=[])
    read_model.apply(*episode.release(), claims=[])
    batch = SqlClaimBatches(engine, cipher=cipher).cut(SUBMITTER, AT)
    assert batch is not None
    trace = f"SD-{episode.episode_id}-1"
    submission_key = f"{episode.episode_id}:{trace}:initial"
    SqlSubmissionLog(engine, cipher).start(
        NewSubmission(
            idempotency_key=submission_key,
            episode_id=episode.episode_id,
            payer_id="acme",
            trace_number=trace,
            purpose="initial",
            channel="pas",
            content_type="application/fhir+json",
            payload=json.dumps({"member": MEMBER, "name": NAME}),
        ),
        AT,
    )
    SqlSubmissionLog(engine, cipher).finish(
        submission_key, "answered", AT, response_status=200, response=f"patient {NAME}"
    )
    x12_key = f"{episode.episode_id}:{trace}:278"
    SqlX12Ledger(engine, cipher).reserve(
        X12Submission(
            idempotency_key=x12_key,
            file_name=f"278-{episode.episode_id}.x12",
            control_number=0,
            episode_id=episode.episode_id,
            payer_id="acme-x12",
            trace_number=trace,
            purpose="initial",
            body=b"",
            created_at=AT,
        ),
        lambda number: f"ISA*{number:09d}~NM1*IL*1*MARLOWE*QUINTESSA****MI*{MEMBER}~".encode(),
    )
    return Written(episode.episode_id, batch.batch_id, submission_key, x12_key)


RAW_COLUMNS = {
    "claims_outbox.billing": "SELECT billing FROM claims_outbox",
    "claim_batches.x12": "SELECT x12 FROM claim_batches",
    "submissions.payload": "SELECT payload FROM submissions",
    "submissions.response": "SELECT response FROM submissions",
    "x12_submissions.body": "SELECT body FROM x12_submissions",
    "episode_search_keys.key": "SELECT key FROM episode_search_keys",
    "episode_events.data": "SELECT data FROM episode_events",
}


def raw(engine: Engine) -> dict[str, str]:
    found = {}
    with engine.connect() as connection:
        for column, query in RAW_COLUMNS.items():
            values = connection.execute(text(query)).scalars().all()
            assert values, f"{column}: nothing stored"
            found[column] = " ".join(
                v.decode("latin-1")
                if isinstance(v, bytes)
                else json.dumps(v)
                if not isinstance(v, str)
                else v
                for v in values
            )
    return found


def assert_no_plain_phi(engine: Engine) -> None:
    for column, stored in raw(engine).items():
        leaked = [s for s in SECRETS if s in stored]
        assert not leaked, f"{column} holds {leaked} in plain text"


def assert_readers_work(engine: Engine, cipher: PhiCipher, written: Written) -> None:
    batches = SqlClaimBatches(engine, cipher=cipher)
    x12 = batches.batch_file(written.batch_id).x12
    assert MEMBER in x12 and "MARLOWE" in x12.upper()
    assert x12_errors(x12) == []
    submission = SqlSubmissionLog(engine, cipher).get(written.submission_key)
    assert submission is not None and json.loads(submission.payload or "")["member"] == MEMBER
    assert submission.response == f"patient {NAME}"
    x12_file = SqlX12Ledger(engine, cipher).submission(written.x12_key)
    assert x12_file is not None and MEMBER.encode() in x12_file.body
    read_model = SqlReadModel(engine, cipher)
    for q in ("quintessa", NAME, MEMBER.lower(), "Marlowe quintessa"):
        page, _ = read_model.list_episodes(q=q)
        assert [s.episode_id for s in page] == [written.episode_id], q
    assert read_model.list_episodes(q="quintessa nobody")[0] == []
    assert read_model.patients([written.episode_id])[written.episode_id].name == NAME
    assert read_model.events(written.episode_id)[0].data["patient"]["member_id"] == MEMBER


def test_the_newer_tables_hold_no_plain_phi_and_their_readers_still_work(engine: Engine) -> None:
    written = write_everything(engine, CIPHER_A)

    assert_no_plain_phi(engine)
    assert_readers_work(engine, CIPHER_A, written)
    with pytest.raises(UnreadablePhi):
        SqlClaimBatches(engine).batch_file(written.batch_id)
    with pytest.raises(UnreadablePhi):
        SqlX12Ledger(engine).submission(written.x12_key)


def test_search_keys_without_payload_keys_are_digests_too(engine: Engine) -> None:
    written = write_everything(engine, None)  # type: ignore[arg-type]

    with engine.connect() as connection:
        keys = " ".join(connection.execute(text("SELECT key FROM episode_search_keys")).scalars())
    assert not [s for s in SECRETS if s in keys]
    page, _ = SqlReadModel(engine).list_episodes(q="quintessa")
    assert [s.episode_id for s in page] == [written.episode_id]


def keys_env(monkeypatch: pytest.MonkeyPatch, active: str, **keys: bytes) -> None:
    encoded = {kid: base64.b64encode(key).decode() for kid, key in keys.items()}
    monkeypatch.setenv("STEPDOWN_PAYLOAD_KEYS", json.dumps(encoded))
    monkeypatch.setenv("STEPDOWN_PAYLOAD_ACTIVE_KEY", active)
    get_settings.cache_clear()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_rotation_reseals_every_column_without_touching_an_event_and_verify_passes(
    url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = write_everything(engine, CIPHER_A)
    codec_a = EncryptionCodec({"a": KEY_A}, "a")
    SqlNotes(engine, codec_a).add(written.episode_id, "ops", None, f"called {NAME}", AT)
    SqlAttachments(engine, codec_a).add(written.episode_id, f"{MEMBER}.png", PNG, ("ops", None), AT)
    with engine.connect() as connection:
        events_before = connection.execute(text("SELECT * FROM episode_events")).all()
    try:
        keys_env(monkeypatch, "b", a=KEY_A, b=KEY_B)
        rotated = CliRunner().invoke(app, ["db", "reencrypt", "--url", url])
        again = CliRunner().invoke(app, ["db", "reencrypt", "--url", url])
        keys_env(monkeypatch, "b", b=KEY_B)  # the old key removed
        # The fixture's summaries are stand-ins: rebuild them from the events (which reads
        # every event through its re-wrapped data key), then verify chains, folds, summaries.
        rebuilt = CliRunner().invoke(app, ["db", "rebuild", "--url", url])
        verified = CliRunner().invoke(app, ["events", "verify", "--all", "--no-live", "--url", url])
    finally:
        get_settings.cache_clear()

    assert rotated.exit_code == 0, rotated.output
    assert "1 episode data key(s)" in rotated.output and "1 outbox billing(s)" in rotated.output
    assert "1 837I batch(es), 1 submission(s), 1 X12 file(s)" in rotated.output, rotated.output
    assert "1 note(s), 2 attachment(s)" in rotated.output, rotated.output
    assert "0 episode data key(s)" in again.output and "0 X12 file(s)" in again.output
    assert rebuilt.exit_code == 0, rebuilt.output
    assert verified.exit_code == 0, verified.output
    with engine.connect() as connection:
        assert connection.execute(text("SELECT * FROM episode_events")).all() == events_before
        kids = set(connection.execute(text("SELECT kid FROM episode_data_keys")).scalars())
    assert kids == {"b"}
    assert_no_plain_phi(engine)
    only_b = PhiCipher({"b": KEY_B}, "b")
    assert_readers_work(engine, only_b, written)
    codec_b = EncryptionCodec({"b": KEY_B}, "b")
    [note] = SqlNotes(engine, codec_b).notes(written.episode_id)
    assert note.text == f"called {NAME}"
    [attachment] = SqlAttachments(engine, codec_b).attachments(written.episode_id)
    found = SqlAttachments(engine, codec_b).content(written.episode_id, attachment.id)
    assert found is not None and found[1] == PNG
    with pytest.raises(UnreadablePhi):
        SqlClaimBatches(engine, cipher=CIPHER_A).batch_file(written.batch_id)


# The revision 0150 follows (the chain is in store/migrations/versions).
BEFORE_0150 = "0180"


def test_migration_0150_seals_old_rows_converts_events_and_downgrades(
    url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = alembic_config(url)
    command.downgrade(config, BEFORE_0150)
    written = write_everything(engine, None)  # type: ignore[arg-type]
    with engine.begin() as connection:
        # Before 0150 the search keys were the words; 0140 sealed event PHI with the keyring.
        connection.execute(
            text("INSERT INTO episode_search_keys VALUES (:e, 'name', 'quintessa')"),
            {"e": written.episode_id},
        )
        seal_v1(connection, CIPHER_A)
    assert '"$sealed": "v1"' in raw(engine)["episode_events.data"]
    try:
        keys_env(monkeypatch, "a", a=KEY_A)
        command.upgrade(config, "head")
        upgraded = raw(engine)
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text("UPDATE episode_events SET data = data"))
        command.downgrade(config, BEFORE_0150)
        downgraded = raw(engine)
        command.upgrade(config, "head")
    finally:
        get_settings.cache_clear()

    assert '"$sealed": "e1"' in upgraded["episode_events.data"]
    assert '"v1"' not in upgraded["episode_events.data"]
    for column, stored in upgraded.items():
        assert not [s for s in SECRETS if s in stored], column
    assert_readers_work(engine, CIPHER_A, written)
    assert '"$sealed": "v1"' in downgraded["episode_events.data"]
    assert (
        MEMBER in downgraded["claim_batches.x12"] and MEMBER in downgraded["x12_submissions.body"]
    )
    assert "quintessa" in downgraded["episode_search_keys.key"].split()
