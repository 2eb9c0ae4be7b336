"""The claims outbox on SQLite and PostgreSQL: queued with the projection, cut into 837I
batches under unique persisted control numbers, sent, acknowledged; nothing lost or doubled."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from store.claims import BatchStateConflict, UnknownBatch
from store.db import make_engine
from store.phi import PhiCipher
from store.sql import SqlReadModel
from store.sql_claims import SqlClaimBatches
from store.x12_ledger import SqlX12Ledger
from tests.support.claim_events import AT, ReleasingEpisode
from tests.support.db import database_engine, database_url
from tests.support.submitter import SUBMITTER
from tests.support.x12valid import x12_errors

__all__ = ["database_engine", "database_url"]


def released(read_model: SqlReadModel, claims: int = 1, **opened) -> ReleasingEpisode:
    episode = ReleasingEpisode(**opened)
    read_model.apply(*episode.opening(), claims=[])
    for day in range(claims):
        read_model.apply(*episode.release(day=24 + day), claims=[])
    return episode


@pytest.fixture
def read_model(database_engine: Engine) -> SqlReadModel:
    return SqlReadModel(database_engine)


@pytest.fixture
def batches(database_engine: Engine) -> SqlClaimBatches:
    return SqlClaimBatches(database_engine)


def test_a_released_claim_is_queued_by_its_projection(read_model, batches):
    episode = released(read_model, claims=2)

    queued = batches.outbox(status="queued", episode_id=episode.episode_id)

    assert {(e.episode_id, e.claim_id) for e in queued} == episode.claim_keys()
    assert {e.payer_id for e in queued} == {"acme-medicaid"}
    assert all(e.claim.lines[0].authorization_number == "AUTH-1" for e in queued)


def test_projecting_the_same_release_again_queues_nothing_twice(read_model, batches):
    episode = ReleasingEpisode()
    read_model.apply(*episode.opening(), claims=[])
    release = episode.release()

    read_model.apply(*release, claims=[])
    read_model.apply(*release, claims=[])

    assert len(batches.outbox(episode_id=episode.episode_id)) == 1


def test_the_outbox_row_and_the_projection_commit_together(read_model, batches, monkeypatch):
    episode = ReleasingEpisode()
    read_model.apply(*episode.opening(), claims=[])

    def outbox_down(*args: object) -> None:
        raise RuntimeError("the outbox write failed")

    # The outbox write fails after the events were inserted in the same transaction.
    monkeypatch.setattr("store.sql.queue_released_claims", outbox_down)
    with pytest.raises(RuntimeError):
        read_model.apply(*episode.release(), claims=[])

    assert [e.seq for e in read_model.events(episode.episode_id)] == [1]
    assert batches.outbox(episode_id=episode.episode_id) == []


def test_a_cut_takes_every_queued_claim_into_one_valid_837i(read_model, batches):
    first, second = released(read_model, claims=2), released(read_model)

    batch = batches.cut(SUBMITTER, AT)

    assert batch is not None and batch.status == "batched"
    keys = {(c.episode_id, c.claim_id) for c in batch.claims}
    assert keys == first.claim_keys() | second.claim_keys() and batch.claim_count == 3
    text = batches.batch_file(batch.batch_id).x12
    assert x12_errors(text) == []
    assert text.count("REF*G1*AUTH-1~") == 3
    assert batches.outbox(status="queued") == []
    assert batches.cut(SUBMITTER, AT) is None


def test_a_278_and_an_837_never_share_an_interchange_control_number(
    read_model, batches, database_engine
):
    ledger = SqlX12Ledger(database_engine)
    before = ledger.next_control_number()
    released(read_model)
    batch = batches.cut(SUBMITTER, AT)
    after = ledger.next_control_number()

    assert batch is not None
    assert before < batch.interchange_control < after
    assert batch.group_control == batch.interchange_control


def test_each_batch_takes_new_control_numbers(read_model, batches):
    numbers = []
    for _ in range(3):
        released(read_model)
        batch = batches.cut(SUBMITTER, AT)
        numbers.append((batch.batch_id, batch.interchange_control, batch.group_control))

    assert len({n[0] for n in numbers}) == 3
    assert [n[1] for n in numbers] == sorted({n[1] for n in numbers})
    assert [n[2] for n in numbers] == sorted({n[2] for n in numbers})


def test_a_cut_can_be_limited_to_one_payer(read_model, batches):
    medicaid = released(read_model)
    commercial = released(read_model, payer={"id": "acme-commercial", "plan_type": "commercial"})

    batch = batches.cut(SUBMITTER, AT, payer_id="acme-commercial")

    assert {(c.episode_id, c.claim_id) for c in batch.claims} == commercial.claim_keys()
    queued = batches.outbox(status="queued")
    assert {(e.episode_id, e.claim_id) for e in queued} == medicaid.claim_keys()


def test_a_claim_the_837i_cannot_carry_is_rejected_without_blocking_the_others(read_model, batches):
    bad = released(read_model, name="Jane~Roe")
    good = released(read_model)

    batch = batches.cut(SUBMITTER, AT)

    assert {(c.episode_id, c.claim_id) for c in batch.claims} == good.claim_keys()
    [rejected] = batches.outbox(status="rejected")
    assert (rejected.episode_id, rejected.claim_id) in bad.claim_keys()
    assert "delimiter" in (rejected.error or "")


def test_sent_then_acknowledged_moves_every_claim_of_the_batch(read_model, batches):
    released(read_model, claims=2)
    batch = batches.cut(SUBMITTER, AT)

    [file] = batches.take_for_sending(AT)
    assert batches.take_for_sending(AT) == []  # leased to the first sender
    batches.mark_sent(file.batch_id, AT)
    done = batches.acknowledge(batch.batch_id, accepted=True, now=AT)
    again = batches.acknowledge(batch.batch_id, accepted=True, now=AT)

    assert done.status == again.status == "accepted"
    assert {c.status for c in batches.batch(batch.batch_id).claims} == {"accepted"}
    assert batches.batch_for_group(batch.group_control).batch_id == batch.batch_id


def test_a_rejected_batch_rejects_its_claims_with_the_error(read_model, batches):
    released(read_model)
    batch = batches.cut(SUBMITTER, AT)
    batches.take_for_sending(AT)
    batches.mark_sent(batch.batch_id, AT)

    batches.acknowledge(batch.batch_id, accepted=False, now=AT, error="IK5*R")

    [claim] = batches.batch(batch.batch_id).claims
    assert (claim.status, claim.error) == ("rejected", "IK5*R")


def test_an_acknowledgement_before_sending_or_after_another_answer_is_refused(read_model, batches):
    released(read_model)
    batch = batches.cut(SUBMITTER, AT)

    with pytest.raises(BatchStateConflict):
        batches.acknowledge(batch.batch_id, accepted=True, now=AT)
    batches.take_for_sending(AT)
    batches.mark_sent(batch.batch_id, AT)
    batches.acknowledge(batch.batch_id, accepted=False, now=AT)
    with pytest.raises(BatchStateConflict):
        batches.acknowledge(batch.batch_id, accepted=True, now=AT)


def test_an_unknown_batch_is_reported(batches):
    with pytest.raises(UnknownBatch):
        batches.batch("CB9999999")
    with pytest.raises(UnknownBatch):
        batches.batch_file("CB9999999")


def test_a_failed_send_frees_the_batch_for_the_next_pass_and_a_lapsed_lease_too(
    read_model, database_engine
):
    batches = SqlClaimBatches(database_engine, send_lease=timedelta(minutes=5))
    released(read_model)
    batch = batches.cut(SUBMITTER, AT)

    batches.take_for_sending(AT)
    batches.send_failed(batch.batch_id, "connection refused")
    retried = batches.take_for_sending(AT)
    lapsed = batches.take_for_sending(AT + timedelta(minutes=6))

    assert [f.batch_id for f in retried] == [batch.batch_id]
    assert [f.batch_id for f in lapsed] == [batch.batch_id]
    assert batches.batch(batch.batch_id).status == "batched"


def test_ensure_queued_adds_only_a_claim_the_projection_did_not_queue(read_model, batches):
    episode = released(read_model)
    [entry] = batches.outbox(episode_id=episode.episode_id)

    assert batches.ensure_queued(entry.episode_id, entry.claim_id, entry.claim, AT) is False
    assert batches.ensure_queued(entry.episode_id, "C-late", entry.claim, AT) is True
    assert len(batches.outbox(episode_id=episode.episode_id)) == 2


def test_concurrent_cuts_put_every_claim_in_exactly_one_batch(database_url, read_model):
    episodes = [released(read_model, claims=2) for _ in range(6)]
    engines = [make_engine(database_url) for _ in range(4)]
    cut = []
    failures = []
    start = threading.Barrier(len(engines))

    def cutter(engine: Engine) -> None:
        store = SqlClaimBatches(engine)
        start.wait()
        try:
            for _ in range(3):
                batch = store.cut(SUBMITTER, AT, max_claims=3)
                if batch is not None:
                    cut.append(batch)
        except Exception as err:  # reported below, not swallowed
            failures.append(err)

    threads = [threading.Thread(target=cutter, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()

    assert failures == []
    taken = Counter((c.episode_id, c.claim_id) for batch in cut for c in batch.claims)
    assert set(taken) == set().union(*(e.claim_keys() for e in episodes))
    assert set(taken.values()) == {1}
    for field in ("batch_id", "interchange_control", "group_control", "transaction_control"):
        values = [getattr(batch, field) for batch in cut]
        assert len(values) == len(set(values)), field


def test_the_outbox_survives_new_processes_with_nothing_lost_or_doubled(database_url):
    """Each 'process' is a fresh engine and fresh store objects over the same database."""
    everyone: set[tuple[str, str]] = set()
    batched: Counter[tuple[str, str]] = Counter()
    for round_ in range(3):
        engine = make_engine(database_url)  # a worker and an API started anew
        read_model, batches = SqlReadModel(engine), SqlClaimBatches(engine)
        everyone |= released(read_model, claims=2).claim_keys()
        if round_ != 1:  # the middle process stops before its schedule cuts a batch
            batch = batches.cut(SUBMITTER, AT)
            batched.update((c.episode_id, c.claim_id) for c in batch.claims)
        engine.dispose()

    assert set(batched) == everyone and set(batched.values()) == {1}


def test_a_claim_of_an_episode_sealed_at_rest_goes_out_with_its_patient_in_the_clear(
    database_engine,
):
    """The patient of the stored episode_opened event is sealed (store/phi.py); the outbox
    opens it, so the 837I names the patient, not a ciphertext."""
    cipher = PhiCipher({"a": bytes(range(32))}, "a")
    sealed = SqlReadModel(database_engine, cipher)
    episode = ReleasingEpisode()
    sealed.apply(*episode.opening(), claims=[])
    sealed.apply(*episode.release(), claims=[])
    batches = SqlClaimBatches(database_engine, cipher=cipher)

    batch = batches.cut(SUBMITTER, AT)

    assert batch is not None
    text = batches.batch_file(batch.batch_id).x12
    assert x12_errors(text) == []
    assert episode.opened.patient.member_id in text
