"""Schedule and attendance (issue 12, §1, §7): no-shows never billed, fees only where the
policy allows, repeated no-shows flagged, hours a week against the level's minimum."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain import commands as c
from domain.attendance import AttendanceEntry, ProgramSchedule
from domain.effects import SubmitRequest, effects_of
from domain.errors import Rejected
from domain.policy import default_policy
from domain.project import episode_view, worklist_items
from tests.support.scenario import Scenario, service

MON = date(2026, 11, 23)
NOW = datetime(2026, 12, 12, 18, tzinfo=UTC)


def entry(session_id: str, day: date, status: str = "attended", **fields: Any) -> AttendanceEntry:
    body: dict[str, Any] = {"session_id": session_id, "date": day, "status": status, **fields}
    if status == "attended":
        body.setdefault("minutes", 180)
    return AttendanceEntry.model_validate(body)


BILL = {
    "code": "S9480",
    "revenue_code": "0905",
    "rendering_npi": "1234567893",
    "charge": "150.00",
}


def authorized(**open_fields: Any) -> Scenario:
    s = Scenario(**open_fields)
    s.approve()
    s.now = NOW
    return s


def test_a_schedule_is_recorded_once_and_shown():
    s = authorized()
    schedule = ProgramSchedule(days_per_week=3, hours_per_day=Decimal("3"), weekdays=(1, 3, 5))
    assert s.types(s.run(c.SetSchedule(schedule=schedule))) == ["schedule_set"]
    assert s.run(c.SetSchedule(schedule=schedule)) == []
    view = episode_view(s.state, s.now).attendance
    assert view is not None and view.schedule == schedule


def test_an_attended_billed_session_derives_its_service_in_one_step():
    s = authorized()
    events = s.run(c.RecordAttendance(sessions=(entry("A-1", MON, bill=BILL),)))
    assert s.types(events) == ["attendance_recorded", "services_recorded"]
    derived = s.state.services["A-1"]
    assert (derived.date, derived.minutes, derived.code) == (MON, 180, "S9480")


def test_a_no_show_is_never_billed_and_its_session_id_cannot_be_billed_later():
    s = authorized()
    s.run(c.RecordAttendance(sessions=(entry("A-1", MON, "no_show"),)))
    assert "A-1" not in s.state.services
    s.run(c.RecordServices(services=(service(MON, service_id="A-1"),)))
    assert "A-1" not in s.state.services


def test_a_no_show_cannot_carry_billing_or_minutes():
    s = authorized()
    with pytest.raises(Rejected) as err:
        s.run(c.RecordAttendance(sessions=(entry("A-1", MON, "no_show", bill=BILL),)))
    assert "never billed" in str(err.value)
    with pytest.raises(Rejected, match="only an attended session has minutes"):
        s.run(c.RecordAttendance(sessions=(entry("A-2", MON, "late_cancel", minutes=30),)))


def test_a_session_with_a_recorded_service_cannot_become_a_no_show():
    s = authorized()
    s.run(c.RecordServices(services=(service(MON, service_id="A-1"),)))
    with pytest.raises(Rejected, match="void it first"):
        s.run(c.RecordAttendance(sessions=(entry("A-1", MON, "no_show"),)))


def test_the_same_attendance_again_is_a_duplicate_and_a_changed_one_is_refused():
    s = authorized()
    first = entry("A-1", MON)
    s.run(c.RecordAttendance(sessions=(first,)))
    assert s.run(c.RecordAttendance(sessions=(first,))) == []
    before = s.state
    with pytest.raises(Rejected, match="other details"):
        s.run(c.RecordAttendance(sessions=(entry("A-1", MON, "no_show"),)))
    assert s.state == before


def test_bad_attendance_lists_every_problem_and_records_nothing():
    s = authorized()
    before = s.state
    sessions = (
        entry("A-1", NOW.date() + timedelta(days=1)),
        entry("A-2", date(2026, 11, 1)),
        entry("A-3", MON, bill={**BILL, "rendering_npi": "1234567890"}),
    )
    with pytest.raises(Rejected) as err:
        s.run(c.RecordAttendance(sessions=sessions))
    assert len(err.value.problems) == 3 and s.state == before


def test_an_attended_session_needs_minutes():
    with pytest.raises(Rejected, match="needs its minutes"):
        s = authorized()
        bare = AttendanceEntry(session_id="A-1", date=MON, status="attended")
        s.run(c.RecordAttendance(sessions=(bare,)))


def test_three_no_shows_in_fourteen_days_raise_a_clinical_review_item():
    s = authorized()
    days = [MON, MON + timedelta(days=6), MON + timedelta(days=13)]
    s.run(
        c.RecordAttendance(
            sessions=tuple(entry(f"N-{i}", d, "no_show") for i, d in enumerate(days))
        )
    )
    items = {i.kind: i.detail for i in worklist_items(s.state, s.now)}
    assert "3 missed sessions" in items["repeated_no_shows"]


def test_no_shows_spread_beyond_fourteen_days_raise_nothing():
    s = authorized()
    days = [MON, MON + timedelta(days=7), MON + timedelta(days=14)]
    s.run(
        c.RecordAttendance(
            sessions=tuple(entry(f"N-{i}", d, "no_show") for i, d in enumerate(days))
        )
    )
    assert "repeated_no_shows" not in {i.kind for i in worklist_items(s.state, s.now)}


def test_excused_absences_do_not_count_as_no_shows():
    s = authorized()
    days = [MON, MON + timedelta(days=1), MON + timedelta(days=2)]
    s.run(
        c.RecordAttendance(
            sessions=tuple(entry(f"E-{i}", d, "excused") for i, d in enumerate(days))
        )
    )
    assert "repeated_no_shows" not in {i.kind for i in worklist_items(s.state, s.now)}


def test_a_self_pay_policy_fee_is_charged_for_missed_sessions_but_never_to_medicaid():
    policy = default_policy("self_pay").model_copy(update={"no_show_fee": Decimal("25.00")})
    s = Scenario(payer={"id": "self", "plan_type": "self_pay"}, policy=policy.model_dump())
    s.now = NOW
    s.run(
        c.RecordAttendance(
            sessions=(entry("N-1", MON, "no_show"), entry("N-2", MON, "late_cancel"))
        )
    )
    view = episode_view(s.state, s.now).attendance
    assert view is not None and view.no_show_fees == Decimal("50.00")

    medicaid = default_policy("medicaid_managed_care").model_copy(
        update={"no_show_fee": Decimal("25.00")}
    )
    m = Scenario(policy=medicaid.model_dump())
    m.now = NOW
    m.run(c.RecordAttendance(sessions=(entry("N-1", MON, "no_show"),)))
    mview = episode_view(m.state, m.now).attendance
    assert mview is not None and mview.no_show_fees == Decimal("0.00")


def test_weeks_below_the_iop_minimum_are_shown_and_sent_with_the_concurrent_review():
    s = Scenario()
    s.approve(end=date(2026, 12, 10))
    s.now = datetime(2026, 12, 4, 9, tzinfo=UTC)
    short_week = [entry(f"A-{d}", MON + timedelta(days=d), minutes=120) for d in (0, 2, 4)]
    full_week = [entry(f"B-{d}", MON + timedelta(days=7 + d)) for d in (0, 2, 4)]
    s.run(c.RecordAttendance(sessions=(*short_week, *full_week)))
    view = episode_view(s.state, s.now).attendance
    assert view is not None
    assert [(w.week, w.hours, w.below_minimum) for w in view.weeks] == [
        (MON, Decimal("6.00"), True),
        (MON + timedelta(days=7), Decimal("9.00"), False),
    ]
    (request,) = s.fire("concurrent_review_due")
    assert request.attendance == (  # type: ignore[union-attr]
        "week of 2026-11-23: 6.00 hours attended, below the 9 hours a week of level 2.1",
    )


def test_the_extension_request_carries_days_hours_missed_sessions_and_units_used():
    s = Scenario()
    s.approve(end=date(2026, 12, 10), units=20)
    s.now = datetime(2026, 12, 4, 9, tzinfo=UTC)
    schedule = ProgramSchedule(days_per_week=3, hours_per_day=Decimal("3"), weekdays=(1, 3, 5))
    s.run(c.SetSchedule(schedule=schedule))
    week_one = [
        entry("A-0", MON, bill=BILL),
        entry("A-2", MON + timedelta(days=2), "no_show"),
        entry("A-4", MON + timedelta(days=4), minutes=120, bill=BILL),
    ]
    week_two = [
        entry("B-0", MON + timedelta(days=7), "late_cancel"),
        entry("B-2", MON + timedelta(days=9), "excused"),
        entry("B-4", MON + timedelta(days=11)),
    ]
    s.run(c.RecordAttendance(sessions=(*week_one, *week_two)))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    (request,) = s.fire("concurrent_review_due")
    summary = request.attendance_summary  # type: ignore[union-attr]
    assert summary is not None
    assert (summary.first, summary.last) == (MON, MON + timedelta(days=11))
    assert (summary.days_attended, summary.sessions_attended) == (3, 3)
    assert summary.hours_attended == Decimal("8.00")
    assert summary.no_shows == (MON + timedelta(days=2),)
    assert summary.late_cancels == (MON + timedelta(days=7),) and summary.missed == 2
    assert summary.excused == 1 and summary.schedule == schedule
    assert [(w.week, w.hours, w.minimum) for w in summary.weeks_below] == [
        (MON, Decimal("5.00"), 9),
        (MON + timedelta(days=7), Decimal("3.00"), 9),
    ]
    # Units used count released lines only: the two billed sessions on claim C-1.
    assert (summary.authorization_number, summary.units_used, summary.units_approved) == (
        "AUTH-1",
        2,
        20,
    )
    assert summary.unit_type == "days"
    # The effect hands the evidence to the payer gateway.
    [effect] = effects_of(request, 1)
    assert isinstance(effect, SubmitRequest) and effect.attendance_summary == summary
    assert effect.as_detail()["attendance_summary"]["no_shows"] == ["2026-11-25"]
    assert effect.as_detail()["attendance_summary"]["units_used"] == 2


def test_an_extension_request_without_recorded_attendance_carries_no_summary():
    s = Scenario()
    s.approve(end=date(2026, 12, 10))
    s.now = datetime(2026, 12, 4, 9, tzinfo=UTC)
    (request,) = s.fire("concurrent_review_due")
    assert request.attendance_summary is None  # type: ignore[union-attr]
    [effect] = effects_of(request, 1)
    assert isinstance(effect, SubmitRequest) and effect.attendance_summary is None
    assert "attendance_summary" not in effect.as_detail()
