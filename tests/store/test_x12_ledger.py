"""The X12 ledger on SQLite and PostgreSQL: control numbers, submissions, acknowledgements."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import Engine

from payers.formats.x12_ack import Acknowledgement, TransactionAck
from store.x12_ledger import SqlX12Ledger, X12Submission
from tests.support.db import database_engine, database_url

__all__ = ["database_engine", "database_url"]
AT = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def pending(**overrides: object) -> X12Submission:
    fields: dict[str, object] = {
        "idempotency_key": f"ep-{uuid.uuid4().hex[:8]}:TRC-1:initial",
        "file_name": f"278-{uuid.uuid4().hex}.x12",
        "control_number": 0,
        "episode_id": "ep-1",
        "payer_id": "acme-x12",
        "trace_number": "TRC-1",
        "purpose": "initial",
        "body": b"",
        "created_at": AT,
    }
    return X12Submission.model_validate({**fields, **overrides})


def rejection(control_number: int, functional_id: str = "HI") -> Acknowledgement:
    verdict = TransactionAck(transaction_set="278", control_number="0001", code="R")
    return Acknowledgement(
        kind="999",
        control_number=control_number,
        functional_id=functional_id,
        code="R",
        transactions=(verdict,),
    )


def test_control_numbers_are_never_handed_out_twice_even_concurrently(database_engine: Engine):
    ledger = SqlX12Ledger(database_engine)

    with ThreadPoolExecutor(4) as pool:
        numbers = list(pool.map(lambda _: ledger.next_control_number(), range(40)))

    assert sorted(numbers) == list(range(1, 41))
    assert SqlX12Ledger(database_engine).next_control_number() == 41
    assert ledger.next_control_number("837") == 1


def test_reserve_builds_once_per_key_and_returns_the_stored_bytes(database_engine: Engine):
    ledger = SqlX12Ledger(database_engine)
    submission = pending()
    built: list[int] = []

    def build(number: int) -> bytes:
        built.append(number)
        return f"ISA {number}".encode()

    first = ledger.reserve(submission, build)
    again = ledger.reserve(submission, build)

    assert built == [first.control_number]
    assert again == first and first.body == f"ISA {first.control_number}".encode()
    assert ledger.submission_for_control(first.control_number) == first
    assert ledger.submission_for_trace("TRC-1") == first


def test_mark_written_keeps_the_first_time(database_engine: Engine):
    ledger = SqlX12Ledger(database_engine)
    stored = ledger.reserve(pending(), lambda n: b"x")

    ledger.mark_written(stored.idempotency_key, AT)
    ledger.mark_written(stored.idempotency_key, datetime(2030, 1, 1, tzinfo=UTC))

    assert ledger.submission(stored.idempotency_key).written_at == AT


def test_a_rejection_of_our_278_is_matched_and_waits_until_reported(database_engine: Engine):
    ledger = SqlX12Ledger(database_engine)
    stored = ledger.reserve(pending(), lambda n: b"x")

    recorded, fresh = ledger.record_acknowledgement("d-1", rejection(stored.control_number), AT)
    again, fresh_again = ledger.record_acknowledgement("d-1", rejection(stored.control_number), AT)

    assert (fresh, fresh_again) == (True, False) and again.id == recorded.id
    assert (recorded.episode_id, recorded.trace_number, recorded.purpose) == (
        "ep-1",
        "TRC-1",
        "initial",
    )
    [failure] = ledger.unreported_rejections()
    assert (failure.episode_id, failure.trace_number, failure.purpose) == (
        "ep-1",
        "TRC-1",
        "initial",
    )
    assert failure.reason.startswith("999 rejected")
    ledger.mark_rejection_reported(failure.acknowledgement_id, AT)
    assert ledger.unreported_rejections() == []
    assert [a.id for a in ledger.acknowledgements("ep-1")] == [recorded.id]


def test_acknowledgements_not_about_our_278s_are_kept_unmatched(database_engine: Engine):
    ledger = SqlX12Ledger(database_engine)
    stored = ledger.reserve(pending(), lambda n: b"x")

    claims, _ = ledger.record_acknowledgement("d-837", rejection(stored.control_number, "HC"), AT)
    stranger, _ = ledger.record_acknowledgement("d-x", rejection(999_999), AT)

    assert claims.episode_id is None and stranger.episode_id is None
    assert claims.functional_id == "HC" and stranger.control_number == 999_999
    assert ledger.unreported_rejections() == []
