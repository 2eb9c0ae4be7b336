"""Effects as typed classes read the shape earlier releases wrote (`kind`, `key`, `attempt` and
the facts in a `detail` dict) and still write it: Temporal histories and failure events hold
that shape (domain/effects.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from domain.attendance import AttendanceSummary
from domain.effects import (
    DeliverClaim,
    Effect,
    InquirePayer,
    NotifyStaff,
    RequestP2P,
    SubmitRequest,
    effect_from,
)
from tests.support.effect_payloads import ATTENDANCE_SUMMARY_JSON

EFFECT: TypeAdapter[Effect] = TypeAdapter(Effect)

SUMMARY_JSON: dict[str, Any] = ATTENDANCE_SUMMARY_JSON
CLAIM_JSON: dict[str, Any] = {"claimId": "C-1", "lines": [{"code": "S9480", "units": 1}]}

# As earlier releases wrote them (Effect(kind, key, detail, attempt).model_dump(mode="json")).
OLD_SHAPES: dict[str, dict[str, Any]] = {
    "submit_request": {
        "kind": "submit_request",
        "key": "SD-1-2",
        "detail": {
            "trace_number": "SD-1-2",
            "purpose": "extension",
            "units": 20,
            "attendance": ["2026-11-23"],
            "attendance_summary": SUMMARY_JSON,
        },
        "attempt": 1,
    },
    "inquire_payer": {
        "kind": "inquire_payer",
        "key": "SD-1-1:2",
        "detail": {"trace_number": "SD-1-1", "purpose": "initial", "units": 20, "inquiry": 2},
        "attempt": 0,
    },
    "request_p2p": {
        "kind": "request_p2p",
        "key": "p2p-1",
        "detail": {"attachments": [3, 5]},
        "attempt": 0,
    },
    "deliver_claim": {
        "kind": "deliver_claim",
        "key": "C-1",
        "detail": {"claim": CLAIM_JSON},
        "attempt": 2,
    },
    "notify": {
        "kind": "notify",
        "key": "7",
        "detail": {"kind": "denied", "detail": "not medically necessary"},
        "attempt": 0,
    },
}

TYPED: dict[str, Effect] = {
    "submit_request": SubmitRequest(
        key="SD-1-2",
        attempt=1,
        purpose="extension",
        units=20,
        attendance=("2026-11-23",),
        attendance_summary=AttendanceSummary(
            first=date(2026, 11, 23),
            last=date(2026, 12, 4),
            days_attended=3,
            sessions_attended=3,
            hours_attended=Decimal("8.00"),
            no_shows=(date(2026, 11, 25),),
            excused=1,
            level="2.1",
            authorization_number="AUTH-1",
            units_used=2,
            units_approved=20,
            unit_type="days",
        ),
    ),
    "inquire_payer": InquirePayer(
        key="SD-1-1:2", trace_number="SD-1-1", purpose="initial", units=20, inquiry=2
    ),
    "request_p2p": RequestP2P(key="p2p-1", attachments=(3, 5)),
    "deliver_claim": DeliverClaim(key="C-1", attempt=2, claim=CLAIM_JSON),
    "notify": NotifyStaff(key="7", notice="denied", text="not medically necessary"),
}


@pytest.mark.parametrize("kind", sorted(OLD_SHAPES))
def test_an_effect_written_by_an_earlier_release_loads_into_its_class(kind: str) -> None:
    assert EFFECT.validate_python(OLD_SHAPES[kind]) == TYPED[kind]


@pytest.mark.parametrize("kind", sorted(OLD_SHAPES))
def test_an_effect_is_written_in_the_shape_earlier_releases_read(kind: str) -> None:
    assert EFFECT.dump_python(TYPED[kind], mode="json") == OLD_SHAPES[kind]
    assert EFFECT.dump_json(EFFECT.validate_json(EFFECT.dump_json(TYPED[kind]))) == (
        EFFECT.dump_json(TYPED[kind])
    )


@pytest.mark.parametrize("kind", sorted(OLD_SHAPES))
def test_an_effect_reads_its_own_fields_too(kind: str) -> None:
    flat = {**TYPED[kind].__dict__}
    assert EFFECT.validate_python(flat) == TYPED[kind]


@pytest.mark.parametrize("kind", sorted(OLD_SHAPES))
def test_a_retried_effect_is_rebuilt_from_its_failure_detail(kind: str) -> None:
    old = OLD_SHAPES[kind]
    effect = effect_from(old["kind"], old["key"], old["detail"], old["attempt"])
    assert effect == TYPED[kind] and effect.as_detail() == old["detail"]


def test_optional_facts_are_left_out_of_the_detail_as_before() -> None:
    bare = SubmitRequest(key="SD-1-1", purpose="initial", units=20)
    assert bare.as_detail() == {"trace_number": "SD-1-1", "purpose": "initial", "units": 20}
    assert RequestP2P(key="p2p-1").as_detail() == {}
    assert EFFECT.validate_python({"kind": "request_p2p", "key": "p2p-1", "detail": {}}) == (
        RequestP2P(key="p2p-1")
    )


def test_a_fact_no_release_reads_is_dropped_and_a_missing_one_refused() -> None:
    detail = {"purpose": "initial", "units": 20, "trace_number": "SD-1-1", "note": "x"}
    effect = effect_from("submit_request", "SD-1-1", detail, 0)
    assert effect == SubmitRequest(key="SD-1-1", purpose="initial", units=20)
    with pytest.raises(ValidationError):
        effect_from("deliver_claim", "C-1", {}, 0)
