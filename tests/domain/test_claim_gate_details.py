"""Details of the claim gate that the broader claim tests let slip (each was a surviving
mutant of domain/claims.py; docs/testing.md): the events of a released verdict, and a
refused line in a batch not stopping the lines after it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain import events as ev
from domain.attendance import AttendanceEntry
from domain.claims import (
    Held,
    Released,
    check_services,
    gate,
    held_claim_event,
    regate,
    released_claim_event,
)
from domain.model import HoldReason
from tests.support.domain_factories import claim_record, episode, service

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def verdict(**fields) -> Released:
    state = episode(services=[service()])
    base = gate(state, date(2026, 11, 30))
    assert isinstance(base, Released)
    return Released(base.claim, base.service_ids, **fields)


def test_a_plain_release_is_one_event_not_marked_held() -> None:
    [released] = released_claim_event(verdict(), "C-2", NOW)

    assert isinstance(released, ev.ClaimReleased)
    assert (released.claim_id, released.was_held, released.at) == ("C-2", False, NOW)


def test_a_release_superseding_a_held_claim_says_so_first() -> None:
    superseded, released = released_claim_event(verdict(supersedes="C-1"), "C-2", NOW, True)

    assert isinstance(superseded, ev.ClaimSuperseded)
    assert (superseded.claim_id, superseded.by) == ("C-1", "C-2")
    assert isinstance(released, ev.ClaimReleased) and released.was_held


def test_a_replacement_supersedes_the_claim_it_replaces() -> None:
    events = released_claim_event(verdict(supersedes="C-1", replaces="C-0"), "C-2", NOW)

    assert [(e.claim_id, getattr(e, "by", None)) for e in events] == [
        ("C-1", "C-2"),
        ("C-0", "C-2"),
        ("C-2", None),
    ]


def test_a_voided_or_missed_line_is_refused_and_the_lines_after_it_still_count() -> None:
    missed = AttendanceEntry.model_validate(
        {"session_id": "S-miss", "date": date(2026, 11, 25), "status": "no_show"}
    )
    state = episode(voided_services={"S-void": "entered twice"}, attendance={"S-miss": missed})
    batch = [
        service(service_id="S-void", date=date(2026, 11, 25)),
        service(service_id="S-miss", date=date(2026, 11, 25)),
        service(service_id="S-ok", date=date(2026, 11, 26)),
    ]

    checked = check_services(state, batch, NOW)

    assert [(p.service_id, p.code) for p in checked.rejected][1] == ("S-miss", "no_show")
    assert checked.rejected[0].service_id == "S-void"
    assert [s.service_id for s in checked.accepted] == ["S-ok"]


def test_regating_a_held_replacement_keeps_what_it_replaces() -> None:
    sent = claim_record(claim_id="C-sent", service_ids=("S-1",))
    # A held replacement holds its new lines; the replaced claim's lines join at the gate.
    held = claim_record(claim_id="C-held", status="held", service_ids=("S-2",), replaces="C-sent")
    state = episode(
        services=[service(service_id="S-1"), service(service_id="S-2", date=date(2026, 11, 26))],
        claims=[sent, held],
    )

    again = regate(state, held)

    assert again.replaces == "C-sent"
    assert again.service_ids == ("S-1", "S-2")


def test_a_held_verdict_with_no_billable_line_withdraws_the_claim() -> None:
    """Every line dropped: the held claim it supersedes goes, and the new claim is withdrawn."""
    events = held_claim_event(Held((), (), supersedes="C-1"), "C-2", date(2026, 11, 30), NOW)

    assert [(e.type, e.claim_id, e.by, e.at) for e in events] == [
        ("claim_superseded", "C-1", "C-2", NOW),
        ("claim_superseded", "C-2", "", NOW),
    ]


def test_a_held_replacement_says_what_it_replaces_and_keeps_its_reasons() -> None:
    reason = HoldReason(code="no_authorization", detail="x", lines=("S-2",))
    dropped = HoldReason(code="below_minimum_minutes", detail="y", lines=("S-3",))
    verdict = Held((reason,), ("S-2",), (dropped,), None, "C-sent")

    [held] = held_claim_event(verdict, "C-2", date(2026, 11, 30), NOW)

    assert isinstance(held, ev.ClaimHeld)
    assert (held.claim_id, held.service_ids, held.replaces) == ("C-2", ("S-2",), "C-sent")
    assert (held.reasons, held.dropped, held.through) == ((reason,), (dropped,), date(2026, 11, 30))


def test_a_month_with_only_lines_that_never_bill_is_withdrawn_with_what_was_dropped() -> None:
    short = service(service_id="S-short", code="90832", minutes=5)
    held = claim_record(claim_id="C-held", status="held", service_ids=("S-short",))
    state = episode(services=[short], claims=[held])

    verdict = regate(state, held)

    assert isinstance(verdict, Held)
    assert (verdict.reasons, verdict.service_ids) == ((), ())
    assert [d.lines for d in verdict.dropped] == [("S-short",)]
