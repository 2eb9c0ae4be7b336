"""The units ledger (§5): what each service uses of which authorization, never beyond it."""

from __future__ import annotations

from datetime import date

import pytest

from domain.claims import Ledger, ledger, units_summary
from domain.state import Episode
from tests.support.domain_factories import authorization, claim_record, episode, service

DAY = date(2026, 11, 24)


def book(state: Episode) -> Ledger:
    """The ledger if every recorded service were released (candidates in date order)."""
    return ledger(state, state.services.values())


def used_by(unit_type: str, *services: object, **auth: object) -> int:
    state = episode(
        services=list(services), authorizations=(authorization(unit_type=unit_type, **auth),)
    )
    return book(state).used["AUTH-1"]


def test_days_count_once_per_distinct_date_however_many_services():
    same_day = [service(date=DAY) for _ in range(3)]
    assert used_by("days", *same_day, service(date=date(2026, 11, 25))) == 2


def test_sessions_count_one_per_service():
    assert used_by("sessions", service(date=DAY), service(date=DAY)) == 2


def test_fifteen_minute_units_count_the_service_units():
    assert used_by("units_15min", service(units=4), service(units=3)) == 7


@pytest.mark.parametrize(("minutes", "units", "hours"), [(60, 1, 1), (61, 1, 2), (None, 3, 3)])
def test_hours_round_minutes_up_or_count_units_without_minutes(minutes, units, hours):
    assert used_by("hours", service(minutes=minutes, units=units)) == hours


def test_service_goes_to_the_first_covering_authorization_by_start():
    later = authorization(number="AUTH-2", start=date(2026, 11, 24))
    earlier = authorization(number="AUTH-1", start=date(2026, 11, 23))
    one = service(date=DAY)
    found = book(episode(services=[one], authorizations=(later, earlier)))
    assert found.allocation == {one.service_id: "AUTH-1"}
    assert found.used == {"AUTH-1": 1, "AUTH-2": 0}


def test_service_goes_to_an_authorization_that_covers_its_code_or_revenue_code():
    groups = authorization(number="AUTH-G", service_codes=("0915",))
    first = authorization(service_codes=("S9480",))
    group = service(code="G0410", revenue_code="0915")
    found = book(episode(services=[group], authorizations=(first, groups)))
    assert found.allocation == {group.service_id: "AUTH-G"}


def test_service_overflows_to_the_next_authorization_with_room():
    full = authorization(units=1)
    spare = authorization(number="AUTH-2", units=5)
    one, two = service(date=DAY), service(date=date(2026, 11, 25))
    found = book(episode(services=[two, one], authorizations=(full, spare)))
    assert found.allocation == {one.service_id: "AUTH-1", two.service_id: "AUTH-2"}


def test_service_beyond_every_authorization_is_left_unallocated():
    one, two = service(date=DAY), service(date=date(2026, 11, 25))
    found = book(episode(services=[one, two], authorizations=(authorization(units=1),)))
    assert found.allocation == {one.service_id: "AUTH-1"} and found.used == {"AUTH-1": 1}


def test_released_services_are_allocated_before_unbilled_ones():
    billed, unbilled = service(date=date(2026, 11, 25)), service(date=DAY)
    state = episode(
        services=[billed, unbilled],
        authorizations=(authorization(units=1),),
        claims=[claim_record(service_ids=(billed.service_id,))],
    )
    assert book(state).allocation == {billed.service_id: "AUTH-1"}


def test_units_summary_adds_every_authorization_and_counts_released_lines_only():
    auths = (authorization(units=3), authorization(number="AUTH-2", units=4))
    billed, unbilled = service(date=DAY), service(date=date(2026, 11, 25))
    state = episode(
        services=[billed, unbilled],
        authorizations=auths,
        claims=[claim_record(service_ids=(billed.service_id,))],
    )
    assert units_summary(state) == (7, 1, 6)


def test_held_and_unbilled_lines_consume_no_units():
    held, unbilled = service(date=DAY), service(date=date(2026, 11, 25))
    state = episode(
        services=[held, unbilled],
        authorizations=(authorization(units=1),),
        claims=[claim_record(status="held", service_ids=(held.service_id,))],
    )
    assert ledger(state) == Ledger(allocation={}, used={"AUTH-1": 0})


def test_hour_units_sum_a_days_minutes_before_rounding_up():
    forty = [service(date=DAY, minutes=40) for _ in range(3)]  # 120 min: 2 hours, not 3
    assert used_by("hours", *forty) == 2
    assert (
        used_by(
            "hours", service(date=DAY, minutes=40), service(minutes=40, date=date(2026, 11, 25))
        )
        == 2
    )


def test_hour_units_round_a_days_total_up_at_the_last_minute():
    assert used_by("hours", service(date=DAY, minutes=60), service(date=DAY, minutes=1)) == 2
    assert used_by("hours", service(date=DAY, minutes=30), service(date=DAY, minutes=30)) == 1


def test_hour_units_sum_three_fifty_minute_sessions_to_three_hours():
    # 150 minutes: 3 hours (a day's minutes are summed, never subtracted or reset).
    fifty = [service(date=DAY, minutes=50) for _ in range(3)]
    assert used_by("hours", *fifty) == 3
    # With two hours authorized the third session has no room left.
    state = episode(services=fifty, authorizations=(authorization(unit_type="hours", units=2),))
    assert len(book(state).allocation) == 2


def test_a_held_claim_before_a_released_one_does_not_hide_its_lines():
    held, billed = service(date=DAY), service(date=date(2026, 11, 25))
    state = episode(
        services=[held, billed],
        authorizations=(authorization(units=5),),
        claims=[
            claim_record(claim_id="C-1", status="held", service_ids=(held.service_id,)),
            claim_record(claim_id="C-2", service_ids=(billed.service_id,)),
        ],
    )
    assert ledger(state) == Ledger(allocation={billed.service_id: "AUTH-1"}, used={"AUTH-1": 1})
