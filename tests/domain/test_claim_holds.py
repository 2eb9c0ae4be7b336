"""Why a claim is held (§5–§7): one reason per rule, grouping its lines, holding the claim."""

from __future__ import annotations

from datetime import date

import pytest

from domain.claims import Held, Released, gate
from domain.errors import Rejected
from domain.model import Authorization, HoldReason, Service
from domain.state import Episode
from tests.support.domain_factories import (
    authorization,
    claim_record,
    episode,
    opened_event,
    service,
)

THROUGH = date(2026, 12, 31)


def reasons(state: Episode, through: date = THROUGH) -> dict[str, HoldReason]:
    verdict = gate(state, through)
    assert isinstance(verdict, Held), verdict
    return {r.code: r for r in verdict.reasons}


def held_for(*services: Service, **fields: object) -> dict[str, HoldReason]:
    return reasons(episode(services=list(services), **fields))


def test_claim_is_held_when_there_is_no_authorization():
    one = service()
    found = held_for(one, authorizations=())
    assert list(found) == ["no_authorization"]
    assert found["no_authorization"].lines == (one.service_id,)


def test_claim_is_held_when_service_date_after_authorization_end():
    late = [service(date=date(2026, 12, d)) for d in (21, 22, 23)]
    found = held_for(*late, authorizations=(authorization(end=date(2026, 12, 20)),))
    reason = found["outside_authorization_dates"]
    assert reason.detail == (
        "3 lines dated after authorization AUTH-1 ended on 2026-12-20; "
        "request an extension or a new authorization"
    )
    assert set(reason.lines) == {s.service_id for s in late}


def test_claim_is_held_when_service_date_before_authorization_start():
    early = service(date=date(2026, 11, 24))
    found = held_for(early, authorizations=(authorization(start=date(2026, 11, 26)),))
    assert "before authorization AUTH-1 starts on 2026-11-26" in (
        found["outside_authorization_dates"].detail
    )


def test_claim_is_held_when_service_date_falls_between_authorizations():
    gap = service(date=date(2026, 11, 28))
    auths = (
        authorization(end=date(2026, 11, 25)),
        authorization(number="AUTH-2", start=date(2026, 12, 1)),
    )
    found = held_for(service(), gap, authorizations=auths)
    reason = found["outside_authorization_dates"]
    assert reason.lines == (gap.service_id,) and "outside every authorization" in reason.detail


def test_claim_is_held_when_code_is_not_authorized():
    odd = service(code="G0410", revenue_code="0915")
    found = held_for(odd)
    assert found["code_not_authorized"].lines == (odd.service_id,)
    assert "G0410" in found["code_not_authorized"].detail


def test_claim_is_held_when_units_are_exhausted():
    days = [service(date=date(2026, 11, d)) for d in (24, 25, 26)]
    found = held_for(*days, authorizations=(authorization(units=2),))
    reason = found["units_exhausted"]
    assert reason.lines == (days[2].service_id,)
    assert "AUTH-1: 2 of 2 days used" in reason.detail


def test_claim_is_held_when_it_falls_within_the_php_overlap_window():
    opened = opened_event(php_last_claim_through=date(2026, 11, 20))
    inside, outside = service(date=date(2026, 11, 27)), service(date=date(2026, 11, 28))
    found = held_for(inside, outside, opened=opened)
    reason = found["php_overlap_38363"]
    assert reason.lines == (inside.service_id,) and "38363" in reason.detail


def test_php_overlap_window_follows_the_payer_policy():
    opened = opened_event(php_last_claim_through=date(2026, 11, 20))
    shorter = opened.model_copy(
        update={"policy": opened.policy.model_copy(update={"php_overlap_days": 3})}
    )
    state = episode(opened=shorter, services=[service(date=date(2026, 11, 27))])
    assert isinstance(gate(state, THROUGH), Released)


def test_claim_is_held_when_a_group_roster_is_unsigned():
    found = held_for(service(code="90853", roster_signed=False))
    assert "roster" in found["roster_unsigned"].detail


def test_unsigned_roster_of_a_non_group_code_does_not_hold():
    state = episode(services=[service(code="S9480", roster_signed=False)])
    assert isinstance(gate(state, THROUGH), Released)


def dropped_from(*services: Service, **fields: object) -> dict[str, HoldReason]:
    """The reasons lines were left off a claim whose other lines were released."""
    verdict = gate(episode(services=[service(minutes=60), *services], **fields), THROUGH)
    assert isinstance(verdict, Released), verdict
    dropped_ids = {sid for r in verdict.dropped for sid in r.lines}
    assert dropped_ids.isdisjoint(verdict.service_ids)
    assert dropped_ids.isdisjoint(line.service_id for line in verdict.claim.lines)
    return {r.code: r for r in verdict.dropped}


def test_untimed_session_under_45_minutes_is_left_off_while_the_valid_lines_go_out():
    short = service(code="90853", minutes=44)
    found = dropped_from(short, service(minutes=45))
    assert found["below_minimum_minutes"].lines == (short.service_id,)


def test_psychotherapy_under_16_minutes_is_left_off_the_claim():
    found = dropped_from(service(code="90832", minutes=15), authorizations=_auths_with_therapy())
    assert "90832 for 15 min" in found["below_minimum_minutes"].detail


def test_psychotherapy_coded_above_its_minutes_is_left_off_with_the_code_it_calls_for():
    one = service(service_id="S-1", code="90837", minutes=40)
    found = dropped_from(one, authorizations=_auths_with_therapy())
    assert "S-1 billed 90837 for 40 min, which calls for 90834" in (
        found["time_code_mismatch"].detail
    )


def test_psychotherapy_without_minutes_is_left_off_the_claim():
    found = dropped_from(service(code="90834", minutes=None), authorizations=_auths_with_therapy())
    assert list(found) == ["missing_minutes"]


def test_a_claim_of_only_lines_that_can_never_bill_is_refused_naming_them():
    short = service(service_id="S-short", minutes=20)
    with pytest.raises(Rejected, match="can never bill as recorded \\(S-short\\)") as err:
        gate(episode(services=[short]), THROUGH)
    assert err.value.code == "nothing_to_bill"


def test_dropped_lines_take_no_units():
    short = service(date=date(2026, 11, 24), minutes=10)
    good = service(date=date(2026, 11, 25))
    state = episode(services=[short, good], authorizations=(authorization(units=1),))
    verdict = gate(state, THROUGH)
    assert isinstance(verdict, Released) and verdict.service_ids == (good.service_id,)


def test_psychotherapy_with_minutes_matching_its_code_is_released():
    state = episode(
        services=[service(code="90834", minutes=45)], authorizations=_psychotherapy_auth()
    )
    assert isinstance(gate(state, THROUGH), Released)


def test_claim_is_held_when_a_line_lacks_the_hcpcs_its_setting_reports():
    # Recording refuses such lines; a line recorded before that rule is still held.
    found = held_for(service(code="", revenue_code="0905"))
    assert "missing_hcpcs" in found


def test_a_critical_access_hospital_line_without_hcpcs_is_not_held_for_it():
    """A CAH reports revenue codes only (domain/codes.py SETTINGS_WITHOUT_HCPCS)."""
    cah = episode(
        opened=opened_event(setting="cah"), services=[service(code="", revenue_code="0905")]
    )
    verdict = gate(cah, THROUGH)
    assert isinstance(verdict, Released) or "missing_hcpcs" not in {r.code for r in verdict.reasons}


def test_one_reason_per_rule_groups_its_lines_and_holds_the_whole_claim():
    good = service(date=date(2026, 11, 24))
    bad = [service(date=date(2026, 11, d), roster_signed=False) for d in (25, 26)]
    verdict = gate(episode(services=[good, *bad]), THROUGH)
    assert isinstance(verdict, Held)
    assert [r.code for r in verdict.reasons] == ["roster_unsigned"]
    assert verdict.reasons[0].lines == tuple(s.service_id for s in bad)
    assert verdict.reasons[0].detail.startswith("2 lines of group therapy (90853)")
    assert set(verdict.service_ids) == {good.service_id, *(s.service_id for s in bad)}


def test_released_services_keep_their_units_before_later_recorded_earlier_dates():
    billed = service(date=date(2026, 11, 25))
    earlier = service(date=date(2026, 11, 24))
    state = episode(
        services=[billed, earlier],
        authorizations=(authorization(units=1),),
        claims=[claim_record(service_ids=(billed.service_id,))],
    )
    assert list(reasons(state)) == ["units_exhausted"]


def _psychotherapy_auth() -> tuple[Authorization, ...]:
    return (authorization(service_codes=("90832", "90834", "90837")),)


def _auths_with_therapy() -> tuple[Authorization, ...]:
    return (authorization(service_codes=("90853", "90832", "90834", "90837")),)


def test_details_agree_in_number_and_name_medicare_only_for_medicare():
    one = service(date=date(2026, 11, 27))
    two = [service(date=date(2026, 11, d)) for d in (24, 25)]
    medicare = opened_event(
        php_last_claim_through=date(2026, 11, 20),
        payer={"id": "acme-ma", "plan_type": "medicare_advantage"},
    )

    single = held_for(one, authorizations=())["no_authorization"].detail
    several = held_for(*two, authorizations=())["no_authorization"].detail
    overlap = held_for(one, opened=opened_event(php_last_claim_through=date(2026, 11, 20)))
    medicare_overlap = held_for(one, opened=medicare)

    assert single.startswith("1 line on 2026-11-27 has no authorization yet")
    assert several.startswith("2 lines from 2026-11-24 to 2026-11-25 have no authorization")
    detail = overlap["php_overlap_38363"].detail
    assert "1 line on 2026-11-27 falls within 7 days" in detail
    assert "Medicare" not in detail and "the payer may return" in detail
    assert "Medicare returns" in medicare_overlap["php_overlap_38363"].detail


@pytest.mark.parametrize("day", [date(2026, 11, 23), date(2026, 12, 31)], ids=["start", "end"])
def test_an_unauthorized_code_on_the_authorizations_first_or_last_day_is_a_code_problem(day):
    """Within the dates (both ends included), the code is what is missing, not the dates."""
    odd = service(code="G0410", revenue_code="0915", date=day)
    assert set(held_for(odd)) == {"code_not_authorized"}


@pytest.mark.parametrize(
    ("code", "revenue_code"), [("90853", "0914"), ("H0015", "0905")], ids=["code", "revenue"]
)
def test_a_line_covered_by_its_code_or_its_revenue_code_alone_is_held_for_units(code, revenue_code):
    first = service(date=date(2026, 11, 24))
    second = service(date=date(2026, 11, 25), code=code, revenue_code=revenue_code, minutes=None)
    found = held_for(first, second, authorizations=(authorization(units=1),))
    assert found["units_exhausted"].lines == (second.service_id,)
    assert "code_not_authorized" not in found
