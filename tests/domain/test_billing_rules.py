"""Issue 12 billing rules: units as the payer counts them, month order, 38363, rosters, the
authorization on every line (DOMAIN §5–§7)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.claims import Held, Released, gate, held_claim_event, released_claim_event
from domain.decide_coverage import release_held
from domain.evolve import fold
from domain.state import DischargeInfo, Episode
from tests.support.domain_factories import authorization, episode, opened_event, service

DEC_31 = date(2026, 12, 31)
NOW = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)


def held_codes(state: Episode, through: date = DEC_31) -> dict[str, tuple[str, ...]]:
    verdict = gate(state, through)
    assert isinstance(verdict, Held), verdict
    return {r.code: r.lines for r in verdict.reasons}


def released(state: Episode, through: date = DEC_31) -> Released:
    verdict = gate(state, through)
    assert isinstance(verdict, Released), verdict
    return verdict


# ---- per-diem codes and 15-minute units: overbilling risk ---------------------------------


def test_per_diem_code_twice_on_one_date_is_held_as_overbilling_risk():
    a, b = service(service_id="S-a", code="S9480"), service(service_id="S-b", code="S9480")
    assert held_codes(episode(services=[a, b])) == {"per_day_code_repeated": ("S-a", "S-b")}


def test_per_diem_code_on_two_dates_and_other_codes_the_same_date_go_out():
    days = [service(code="S9480", date=date(2026, 11, d)) for d in (24, 25)]
    group = service(code="90853", date=date(2026, 11, 24))
    assert len(released(episode(services=[*days, group])).claim.lines) == 3


def test_per_diem_code_with_more_than_one_unit_is_held():
    two = (
        service(code="H0015", units=2, service_codes=None)
        if False
        else service(code="H0015", units=2)
    )
    state = episode(services=[two], authorizations=(authorization(service_codes=("H0015",)),))
    assert "per_day_code_repeated" in held_codes(state)


def test_per_diem_code_already_sent_for_that_date_holds_the_new_line():
    sent = service(code="S9480")
    first = released(episode(services=[sent]))
    state = episode(services=[sent])
    state = fold(_released_events(first, "C-1"), state)
    again = service(code="S9480")
    state = state.model_copy(update={"services": {**state.services, again.service_id: again}})
    assert held_codes(state) == {"per_day_code_repeated": (again.service_id,)}


def test_episode_under_the_first_rules_does_not_hold_per_diem_repeats():
    a, b = service(code="S9480"), service(code="S9480")
    assert isinstance(gate(episode(services=[a, b], rules=1), DEC_31), Released)


def _h2019(minutes: int, units: int):
    return service(code="H2019", revenue_code="0905", minutes=minutes, units=units)


def _auth_h2019():
    return (authorization(unit_type="units_15min", units=40, service_codes=("H2019",)),)


def test_fifteen_minute_units_that_match_the_minutes_go_out():
    lines = [_h2019(60, 4), _h2019(52, 3), _h2019(53, 4), _h2019(8, 1)]
    for line in lines:
        assert isinstance(
            gate(episode(services=[line], authorizations=_auth_h2019()), DEC_31), Released
        )


def test_fifteen_minute_units_beyond_the_minutes_are_held():
    over = _h2019(52, 4)
    state = episode(services=[over], authorizations=_auth_h2019())
    assert held_codes(state) == {"units_exceed_minutes": (over.service_id,)}


# ---- 3 vs 4+ and CAH -----------------------------------------------------------------------


def test_drug_lines_do_not_count_towards_the_iop_day_class():
    day = date(2026, 11, 24)
    three = [service(date=day) for _ in range(3)]
    drug = service(date=day, code="", revenue_code="0250")
    auths = (authorization(service_codes=("90853", "0250")),)
    claim = released(episode(services=[*three, drug], authorizations=auths)).claim
    assert claim.day_classes == {"2026-11-24": "iop_3"}
    assert len(claim.lines) == 4


# ---- group H-codes need a signed roster ------------------------------------------------------


def test_group_h_code_without_a_signed_roster_is_held():
    group = service(code="H0015", modifiers=("HQ",), roster_signed=False)
    auths = (authorization(service_codes=("H0015",)),)
    assert held_codes(episode(services=[group], authorizations=auths)) == {
        "roster_unsigned": (group.service_id,)
    }


def test_individual_h_code_needs_no_roster():
    one = service(code="H0015", roster_signed=False)
    auths = (authorization(service_codes=("H0015",)),)
    assert isinstance(gate(episode(services=[one], authorizations=auths), DEC_31), Released)


# ---- 38363: seven days of PHP before and after -------------------------------------------------


def _stepped_down_from_php(end: date) -> Episode:
    prior = {"number": "PHP-1", "level": "2.5", "start": date(2026, 11, 1), "end": end}
    return episode(opened=opened_event(stepped_down_from=prior))


def test_php_authorization_end_stands_in_when_no_php_claim_date_is_given():
    base = _stepped_down_from_php(date(2026, 11, 17))
    inside, outside = service(date=date(2026, 11, 24)), service(date=date(2026, 11, 25))
    state = base.model_copy(update={"services": {inside.service_id: inside}})
    codes = held_codes(state)
    assert codes == {"php_overlap_38363": (inside.service_id,)}
    verdict = gate(state.model_copy(update={"services": {outside.service_id: outside}}), DEC_31)
    assert isinstance(verdict, Released)


def test_php_overlap_detail_names_the_php_authorization():
    base = _stepped_down_from_php(date(2026, 11, 20))
    one = service(date=date(2026, 11, 24))
    verdict = gate(base.model_copy(update={"services": {one.service_id: one}}), DEC_31)
    assert isinstance(verdict, Held)
    assert "2026-11-20 (PHP authorization)" in verdict.reasons[0].detail


def test_a_residential_prior_authorization_is_not_a_php_date():
    prior = {
        "number": "RES-1",
        "level": "3.5",
        "start": date(2026, 11, 1),
        "end": date(2026, 11, 22),
    }
    state = episode(
        opened=opened_event(from_level="3.5", stepped_down_from=prior), services=[service()]
    )
    assert isinstance(gate(state, DEC_31), Released)


def test_a_step_back_up_to_php_holds_the_last_seven_days_of_iop():
    step_up = DischargeInfo(
        date=date(2026, 12, 10), patient_status="09", disposition="step_up", to_level="2.5"
    )
    early, late = service(date=date(2026, 12, 2)), service(date=date(2026, 12, 3))
    state = episode(services=[early, late], discharge=step_up)
    assert held_codes(state) == {"php_overlap_38363": (late.service_id,)}


# ---- the authorization number on the claim and its lines ------------------------------------


def test_every_line_carries_the_authorization_that_covers_it_and_the_claim_the_main_one():
    first = authorization(number="AUTH-A", end=date(2026, 11, 25))
    second = authorization(number="AUTH-B", start=date(2026, 11, 26))
    lines = [service(date=date(2026, 11, d)) for d in (24, 26, 27)]
    claim = released(episode(services=lines, authorizations=(first, second))).claim
    assert [x.authorization_number for x in claim.lines] == ["AUTH-A", "AUTH-B", "AUTH-B"]
    assert claim.authorization_number == "AUTH-B"


def test_one_authorization_names_every_line_and_the_claim():
    claim = released(episode(services=[service()])).claim
    assert claim.authorization_number == "AUTH-1"
    assert claim.lines[0].authorization_number == "AUTH-1"


# ---- one claim per month, in month order ------------------------------------------------------


def test_a_later_month_waits_for_a_retro_authorized_earlier_month_then_both_go_in_order():
    nov, dec = service(date=date(2026, 11, 24)), service(date=date(2026, 12, 2))
    dec_only = authorization(start=date(2026, 12, 1))
    state = episode(services=[nov, dec], authorizations=(dec_only,))
    state = fold(_held_events(gate(state, date(2026, 11, 30)), "C-NOV"), state)
    dec_verdict = gate(state, DEC_31)
    assert isinstance(dec_verdict, Held)
    assert [r.code for r in dec_verdict.reasons] == ["earlier_month_unreleased"]
    assert "waits for the 2026-11 claim" in dec_verdict.reasons[0].detail
    state = fold(_held_events(dec_verdict, "C-DEC"), state)
    retro = authorization(number="AUTH-R", start=date(2026, 11, 23), end=date(2026, 11, 30))
    state = state.model_copy(update={"authorizations": (retro, dec_only)})
    events = release_held(state, NOW)
    assert [e.claim_id for e in events if e.type == "claim_released"] == ["C-NOV", "C-DEC"]
    bills = [e.claim.type_of_bill for e in events if e.type == "claim_released"]
    assert bills == ["0762", "0763"]


def _held_events(verdict: Released | Held, claim_id: str) -> list:
    assert isinstance(verdict, Held)
    return held_claim_event(verdict, claim_id, DEC_31, NOW)


def _released_events(verdict: Released, claim_id: str) -> list:
    return released_claim_event(verdict, claim_id, NOW)


def _december_sent_then_late_november(rules: int = 3, **dec_fields: object) -> Episode:
    dec = service(service_id="S-dec", date=date(2026, 12, 2), **dec_fields)
    start = episode(services=[dec], rules=rules)
    state = fold(_released_events(released(start), "C-DEC"), start)
    late = service(service_id="S-nov", date=date(2026, 11, 24))
    return state.model_copy(update={"services": {**state.services, late.service_id: late}})


def test_under_rules_2_lines_of_a_month_before_one_already_sent_were_held():
    state = _december_sent_then_late_november(rules=2)
    assert held_codes(state) == {"later_month_sent": ("S-nov",)}
    assert "2026-12 claim went out" in gate(state, DEC_31).reasons[0].detail  # type: ignore[union-attr]


def test_late_lines_of_a_month_before_one_already_sent_go_out_on_a_claim_of_their_own():
    state = _december_sent_then_late_november()
    verdict = released(state)
    assert verdict.service_ids == ("S-nov",) and verdict.replaces is None
    claim = verdict.claim
    # No month was released before November: it is the first interim claim, not a 7.
    assert claim.type_of_bill == "0762" and claim.replaces is None
    assert [line.service_id for line in claim.lines] == ["S-nov"]
    assert any("out of month order" in w and "2026-12" in w for w in claim.warnings)
    state = fold(_released_events(verdict, "C-NOV"), state)
    assert {c.claim_id for c in state.released_claims} == {"C-DEC", "C-NOV"}
    assert state.claims["C-DEC"].status == "released"  # the sent month is not touched


def test_a_late_month_between_sent_months_is_continuing_never_last_even_after_discharge():
    oct_ = service(service_id="S-oct", date=date(2026, 10, 26))
    dec = service(service_id="S-dec", date=date(2026, 12, 2))
    auth = authorization(start=date(2026, 10, 20), end=date(2026, 12, 31))
    state = episode(services=[oct_, dec], authorizations=(auth,))
    state = fold(_released_events(released(state, date(2026, 10, 31)), "C-OCT"), state)
    state = fold(_released_events(released(state), "C-DEC"), state)
    late = service(service_id="S-nov", date=date(2026, 11, 24))
    discharge = DischargeInfo(date=date(2026, 12, 3), patient_status="01", disposition="completed")
    state = state.model_copy(
        update={"services": {**state.services, "S-nov": late}, "discharge": discharge}
    )
    claim = released(state).claim
    assert claim.type_of_bill == "0763" and claim.patient_status == "30"


def test_late_lines_of_a_month_that_was_itself_sent_replace_its_claim_with_frequency_7():
    state = _december_sent_then_late_november()
    state = fold(_released_events(released(state), "C-NOV"), state)
    later = service(service_id="S-nov-2", date=date(2026, 11, 25))
    state = state.model_copy(update={"services": {**state.services, "S-nov-2": later}})
    verdict = released(state)
    assert verdict.replaces == "C-NOV" and verdict.claim.type_of_bill == "0767"
    assert verdict.service_ids == ("S-nov", "S-nov-2")
