"""Billing voids or corrects a recorded service: events, never deletes; a hold it caused clears."""

from __future__ import annotations

from datetime import date

import pytest

from domain import commands as c
from domain.errors import Rejected
from tests.support.scenario import Scenario, service

NOV_24 = date(2026, 11, 24)


def authorized() -> Scenario:
    s = Scenario()
    s.approve()
    s.now = s.now.replace(day=26)
    return s


def held_for_repeat(s: Scenario) -> tuple[str, str]:
    a, b = (
        service(NOV_24, service_id="S-a", code="S9480"),
        service(NOV_24, service_id="S-b", code="S9480"),
    )
    s.run(c.RecordServices(services=(a, b)))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    assert s.state.claims["C-1"].status == "held"
    return a.service_id, b.service_id


def test_voiding_the_duplicate_releases_the_claim_it_held():
    s = authorized()
    _, dup = held_for_repeat(s)
    events = s.run(c.VoidService(service_id=dup, reason="entered twice"))
    assert s.types(events) == ["service_voided", "claim_released"]
    record = s.state.claims["C-1"]
    assert record.status == "released" and record.service_ids == ("S-a",)
    assert s.state.voided_services == {"S-b": "entered twice"}
    assert "S-b" not in s.state.services


def test_voiding_twice_changes_nothing():
    s = authorized()
    _, dup = held_for_repeat(s)
    s.run(c.VoidService(service_id=dup, reason="entered twice"))
    assert s.run(c.VoidService(service_id=dup, reason="again")) == []


def test_correcting_an_unsigned_roster_releases_the_held_claim():
    s = authorized()
    group = service(NOV_24, service_id="S-g", roster_signed=False)
    s.run(c.RecordServices(services=(group,)))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    assert s.state.claims["C-1"].reasons[0].code == "roster_unsigned"
    fixed = group.model_copy(update={"roster_signed": True})
    events = s.run(c.CorrectService(service=fixed, reason="roster signed"))
    assert s.types(events) == ["service_corrected", "claim_released"]


def test_a_correction_that_leaves_another_reason_keeps_the_claim_held_with_it():
    s = authorized()
    group = service(NOV_24, service_id="S-g", roster_signed=False)
    s.run(c.RecordServices(services=(group,)))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    moved = group.model_copy(update={"code": "G0410", "revenue_code": "0915"})
    s.run(c.CorrectService(service=moved, reason="group code"))
    codes = {r.code for r in s.state.claims["C-1"].reasons}
    assert codes == {"roster_unsigned", "code_not_authorized"}


def test_a_dropped_line_corrected_goes_out_as_a_frequency_seven_replacement():
    s = authorized()
    good = service(NOV_24, service_id="S-good")
    short = service(NOV_24, service_id="S-short", minutes=20)
    s.run(c.RecordServices(services=(good, short)))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    first = s.state.claims["C-1"]
    assert first.status == "released" and [r.code for r in first.dropped] == [
        "below_minimum_minutes"
    ]
    s.run(c.CorrectService(service=short.model_copy(update={"minutes": 50}), reason="minutes"))
    s.run(c.ReleaseClaim(claim_id="C-2", through=date(2026, 11, 30)))
    replacement = s.state.claims["C-2"]
    assert replacement.claim is not None and replacement.claim.type_of_bill == "0767"
    assert replacement.claim.replaces == "C-1" and replacement.service_ids == ("S-good", "S-short")
    assert s.state.claims["C-1"].status == "superseded"


def test_a_service_on_a_released_claim_cannot_be_voided_or_corrected():
    s = authorized()
    one = service(NOV_24, service_id="S-1")
    s.run(c.RecordServices(services=(one,)))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    before = s.state
    with pytest.raises(Rejected, match="released claim C-1") as err:
        s.run(c.VoidService(service_id="S-1", reason="x"))
    assert err.value.code == "invalid_state" and s.state == before
    with pytest.raises(Rejected, match="released claim C-1"):
        s.run(c.CorrectService(service=one.model_copy(update={"units": 2}), reason="x"))


def test_an_unknown_service_is_refused():
    s = authorized()
    with pytest.raises(Rejected) as err:
        s.run(c.VoidService(service_id="S-none", reason="x"))
    assert err.value.code == "unknown_service"


def test_a_correction_with_a_bad_line_is_refused_and_changes_nothing():
    s = authorized()
    one = service(NOV_24, service_id="S-1")
    s.run(c.RecordServices(services=(one,)))
    before = s.state
    future = one.model_copy(update={"date": date(2027, 1, 5)})
    with pytest.raises(Rejected, match="in the future") as err:
        s.run(c.CorrectService(service=future, reason="x"))
    assert err.value.code == "invalid_input" and s.state == before


def test_the_same_correction_twice_changes_nothing():
    s = authorized()
    one = service(NOV_24, service_id="S-1")
    s.run(c.RecordServices(services=(one,)))
    fixed = one.model_copy(update={"units": 2})
    s.run(c.CorrectService(service=fixed, reason="units"))
    assert s.run(c.CorrectService(service=fixed, reason="units")) == []
    assert s.state.services["S-1"] == fixed


def test_a_voided_service_cannot_be_corrected():
    s = authorized()
    one = service(NOV_24, service_id="S-1")
    s.run(c.RecordServices(services=(one,)))
    s.run(c.VoidService(service_id="S-1", reason="not attended"))
    with pytest.raises(Rejected, match="voided"):
        s.run(c.CorrectService(service=one, reason="x"))


def test_voiding_the_last_unbilled_service_closes_a_discharged_episode():
    s = authorized()
    one = service(NOV_24, service_id="S-1", roster_signed=False)
    s.run(c.RecordServices(services=(one,)))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    s.run(c.Discharge(date=NOV_24, patient_status="01", disposition="completed"))
    events = s.run(c.VoidService(service_id="S-1", reason="not attended"))
    assert s.types(events) == ["service_voided", "claim_superseded", "episode_closed"]
    assert s.state.status == "closed"


def test_a_second_request_for_a_held_month_takes_over_its_lines_and_answers_for_it():
    from workflows.actions import claim_result

    s = authorized()
    first = service(NOV_24, service_id="S-1", roster_signed=False)
    s.run(c.RecordServices(services=(first,)))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    s.run(c.RecordServices(services=(service(date(2026, 11, 25), service_id="S-2"),)))
    events = s.run(c.ReleaseClaim(claim_id="C-2", through=date(2026, 11, 30)))
    assert s.types(events) == ["claim_superseded", "claim_held"]
    assert s.state.claims["C-1"].status == "superseded"
    assert s.state.claims["C-2"].service_ids == ("S-1", "S-2")
    assert claim_result(s.state, "C-1").claim_id == "C-2"
    s.run(c.CorrectService(service=first.model_copy(update={"roster_signed": True}), reason="ok"))
    record = s.state.claims["C-2"]
    assert record.status == "released" and record.claim is not None
    assert record.claim.type_of_bill == "0762"


def test_units_are_exhausted_exactly_at_the_last_released_unit_and_the_next_line_is_held():
    s = Scenario()
    s.approve(units=2)
    s.now = s.now.replace(day=27)
    days = [date(2026, 11, d) for d in (24, 25)]
    s.run(c.RecordServices(services=tuple(service(d) for d in days)))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 25)))
    assert s.state.ended_authorizations == {"AUTH-1": "exhausted"}
    s.run(c.RecordServices(services=(service(date(2026, 11, 26), service_id="S-3"),)))
    s.run(c.ReleaseClaim(claim_id="C-2", through=date(2026, 11, 30)))
    record = s.state.claims["C-2"]
    assert record.status == "held" and record.reasons[0].code == "units_exhausted"
