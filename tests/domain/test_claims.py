"""The release gate (§6): which services a claim takes, the claim it builds, regate."""

from __future__ import annotations

from datetime import date

import pytest

from domain.claims import Held, Released, gate, regate
from domain.errors import Rejected
from domain.state import DischargeInfo, Episode
from tests.support.domain_factories import (
    authorization,
    claim_record,
    episode,
    opened_event,
    service,
)

NOV_30 = date(2026, 11, 30)


def released(state: Episode, through: date = NOV_30) -> Released:
    verdict = gate(state, through)
    assert isinstance(verdict, Released), verdict
    return verdict


# ---- gate: which services a claim takes ---------------------------------------------------


def test_claim_takes_unbilled_services_up_to_through_in_date_order():
    a, b = service(service_id="S-b", date=date(2026, 11, 25)), service(service_id="S-a")
    later = service(service_id="S-c", date=date(2026, 11, 28))
    verdict = released(episode(services=[a, b, later]), through=date(2026, 11, 27))
    assert verdict.service_ids == ("S-a", "S-b")
    assert [line.service_id for line in verdict.claim.lines] == ["S-a", "S-b"]
    assert verdict.claim.from_ == date(2026, 11, 24) and verdict.claim.through == date(2026, 11, 25)


def test_through_is_inclusive_a_service_on_that_day_is_taken_the_next_day_is_not():
    """§6: a claim covers the services on or before its through date."""
    on = service(service_id="S-on", date=date(2026, 11, 26))
    after = service(service_id="S-after", date=date(2026, 11, 27))
    before = service(service_id="S-before", date=date(2026, 11, 25))
    state = episode(services=[before, on, after])

    verdict = released(state, through=date(2026, 11, 26))

    assert verdict.service_ids == ("S-before", "S-on")
    assert verdict.claim.through == date(2026, 11, 26)
    assert released(state, through=date(2026, 11, 27)).service_ids == (
        "S-before",
        "S-on",
        "S-after",
    )


def test_through_the_day_before_the_first_service_has_nothing_to_bill():
    state = episode(services=[service(date=date(2026, 11, 25))])

    with pytest.raises(Rejected) as refused:
        gate(state, date(2026, 11, 24))

    assert refused.value.code == "nothing_to_bill"
    assert "on or before 2026-11-24" in str(refused.value)
    assert released(state, date(2026, 11, 25)).claim.through == date(2026, 11, 25)


def test_claim_covers_only_the_earliest_calendar_month():
    nov, dec = service(date=date(2026, 11, 30)), service(date=date(2026, 12, 1))
    verdict = released(episode(services=[nov, dec]), through=date(2026, 12, 31))
    assert verdict.service_ids == (nov.service_id,)


def test_claim_skips_services_already_on_a_released_claim():
    billed, new = service(), service(date=date(2026, 12, 1))
    state = episode(services=[billed, new], claims=[claim_record(service_ids=(billed.service_id,))])
    assert released(state, date(2026, 12, 31)).service_ids == (new.service_id,)


def test_a_second_request_for_a_month_with_a_held_claim_takes_its_lines_and_supersedes_it():
    held, new = service(), service(date=date(2026, 11, 26))
    record = claim_record(status="held", service_ids=(held.service_id,))
    verdict = released(episode(services=[held, new], claims=[record]))
    assert verdict.service_ids == (held.service_id, new.service_id)
    assert verdict.supersedes == record.claim_id


def test_a_second_request_for_a_sent_month_is_a_frequency_seven_replacement_with_all_lines():
    sent, new = service(), service(date=date(2026, 11, 26))
    record = claim_record(service_ids=(sent.service_id,))
    verdict = released(episode(services=[sent, new], claims=[record]))
    assert verdict.claim.type_of_bill == "0767" and verdict.claim.replaces == record.claim_id
    assert verdict.service_ids == (sent.service_id, new.service_id)


def test_nothing_to_bill_is_rejected_when_every_service_is_on_a_claim():
    billed = service()
    state = episode(services=[billed], claims=[claim_record(service_ids=(billed.service_id,))])
    with pytest.raises(Rejected) as err:
        gate(state, NOV_30)
    assert err.value.code == "nothing_to_bill"


def test_nothing_to_bill_is_rejected_when_every_service_is_after_through():
    with pytest.raises(Rejected, match="on or before 2026-11-23") as err:
        gate(episode(services=[service()]), date(2026, 11, 23))
    assert err.value.code == "nothing_to_bill"


def test_gate_refuses_an_episode_that_is_not_open():
    with pytest.raises(Rejected):
        gate(Episode(), NOV_30)


# ---- gate: the released claim ------------------------------------------------------------


def test_first_interim_claim_is_frequency_two_with_condition_code_92_and_status_30():
    claim = released(episode(services=[service()])).claim
    assert claim.type_of_bill == "0762"
    assert claim.condition_codes == ("92",) and claim.patient_status == "30"


def test_later_interim_claim_is_frequency_three():
    nov, dec = service(), service(date=date(2026, 12, 2))
    state = episode(services=[nov, dec], claims=[claim_record(service_ids=(nov.service_id,))])
    assert released(state, date(2026, 12, 31)).claim.type_of_bill == "0763"


def discharged(day: date, status: str = "06") -> DischargeInfo:
    return DischargeInfo(date=day, patient_status=status, disposition="step_down")


def test_claim_after_discharge_with_nothing_left_is_admit_through_discharge():
    state = episode(services=[service()], discharge=discharged(date(2026, 11, 24)))
    claim = released(state).claim
    assert claim.type_of_bill == "0761" and claim.patient_status == "06"


def test_last_claim_after_an_interim_claim_is_frequency_four_with_the_discharge_status():
    nov, dec = service(), service(date=date(2026, 12, 2))
    state = episode(
        services=[nov, dec],
        discharge=discharged(date(2026, 12, 2), "01"),
        claims=[claim_record(service_ids=(nov.service_id,))],
    )
    claim = released(state, date(2026, 12, 31)).claim
    assert claim.type_of_bill == "0764" and claim.patient_status == "01"


def test_claim_is_not_final_while_a_later_month_remains_unbilled():
    nov, dec = service(), service(date=date(2026, 12, 2))
    state = episode(services=[nov, dec], discharge=discharged(date(2026, 12, 2)))
    claim = released(state, date(2026, 12, 31)).claim
    assert claim.type_of_bill == "0762" and claim.patient_status == "30"


def test_later_month_waits_for_a_held_earlier_month_naming_it():
    held, dec = service(), service(date=date(2026, 12, 2))
    state = episode(
        services=[held, dec],
        discharge=discharged(date(2026, 12, 2)),
        claims=[claim_record(status="held", service_ids=(held.service_id,))],
    )
    verdict = gate(state, date(2026, 12, 31))
    assert isinstance(verdict, Held)
    (reason,) = verdict.reasons
    assert reason.code == "earlier_month_unreleased" and "2026-11 claim" in reason.detail


@pytest.mark.parametrize(
    ("department", "expected"),
    [("non_excepted_off_campus", ("GT", "PN")), ("excepted_off_campus", ("GT", "PO")),
     ("on_campus", ("GT",))],
)  # fmt: skip
def test_hospital_outpatient_lines_carry_the_department_modifier(department, expected):
    opened = opened_event(setting="hospital_outpatient", department=department)
    state = episode(opened=opened, services=[service(modifiers=("GT",))])
    claim = released(state).claim
    assert claim.type_of_bill == "0132"
    assert claim.lines[0].modifiers == expected


def test_department_modifier_is_not_repeated_when_the_service_has_it():
    opened = opened_event(setting="hospital_outpatient", department="non_excepted_off_campus")
    state = episode(opened=opened, services=[service(modifiers=("PN",))])
    assert released(state).claim.lines[0].modifiers == ("PN",)


def test_department_modifier_is_only_for_hospital_outpatient():
    state = episode(opened=opened_event(department="excepted_off_campus"), services=[service()])
    assert released(state).claim.lines[0].modifiers == ()


def test_cah_claim_reports_revenue_codes_without_hcpcs_and_visits_not_time_units():
    state = episode(opened=opened_event(setting="cah"), services=[service(units=2)])
    claim = released(state).claim
    assert claim.type_of_bill == "0852"
    line = claim.lines[0]
    assert line.hcpcs is None and line.revenue_code == "0905" and line.units == 1


def test_claim_lines_report_code_units_and_charge():
    one = service(units=3)
    line = released(episode(services=[one])).claim.lines[0]
    assert (line.hcpcs, line.units, line.charge, line.date) == ("90853", 3, one.charge, one.date)


def test_days_are_classed_by_the_number_of_services_that_day():
    days = {date(2026, 11, 24): 4, date(2026, 11, 25): 3, date(2026, 11, 26): 2}
    services = [service(date=day) for day, count in days.items() for _ in range(count)]
    claim = released(episode(services=services)).claim
    assert claim.day_classes == {
        "2026-11-24": "iop_4plus", "2026-11-25": "iop_3", "2026-11-26": "not_iop_day",
    }  # fmt: skip


def test_claim_warns_about_pairs_outside_the_table():
    odd = service(service_id="S-9", code="90853", revenue_code="0914")
    claim = released(episode(services=[odd])).claim
    assert len(claim.warnings) == 1 and claim.warnings[0].startswith("S-9: revenue code 0914")


# ---- regate ------------------------------------------------------------------------------


def test_held_claim_is_released_on_regate_once_coverage_arrives():
    one = service()
    record = claim_record(status="held", service_ids=(one.service_id,))
    uncovered = episode(authorizations=(), services=[one], claims=[record])
    assert isinstance(regate(uncovered, record), Held)
    covered = uncovered.model_copy(update={"authorizations": episode().authorizations})
    verdict = regate(covered, record)
    assert isinstance(verdict, Released) and verdict.service_ids == (one.service_id,)
    assert verdict.claim.type_of_bill == "0762"


def test_regate_of_a_claim_without_recorded_services_is_rejected():
    record = claim_record(status="held", service_ids=("S-gone",))
    with pytest.raises(Rejected) as err:
        regate(episode(claims=[record]), record)
    assert err.value.code == "nothing_to_bill"


# ---- the prior authorization each line draws on (§8: REF*G1) ----------------------------


def test_each_released_line_carries_the_authorization_it_draws_units_from():
    claim = released(episode(services=[service(), service(date=date(2026, 11, 25))])).claim
    assert [line.authorization_number for line in claim.lines] == ["AUTH-1", "AUTH-1"]
    assert claim.prior_authorization == "AUTH-1"
    assert not [w for w in claim.warnings if "authorizations" in w]


def test_a_claim_over_two_authorizations_reports_the_one_most_lines_draw_on_and_warns():
    first = authorization(number="AUTH-1", end=date(2026, 11, 24))
    second = authorization(number="AUTH-2", start=date(2026, 11, 25))
    days = [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)]
    state = episode(authorizations=(first, second), services=[service(date=day) for day in days])
    claim = released(state).claim
    assert [line.authorization_number for line in claim.lines] == ["AUTH-1", "AUTH-2", "AUTH-2"]
    assert claim.prior_authorization == "AUTH-2"
    assert any("AUTH-1, AUTH-2" in w for w in claim.warnings)


def test_a_claim_released_before_lines_kept_their_authorization_reports_none():
    claim = released(episode(services=[service()])).claim
    old = claim.model_copy(
        update={
            "authorization_number": None,
            "lines": tuple(
                line.model_copy(update={"authorization_number": None}) for line in claim.lines
            ),
        }
    )
    assert old.prior_authorization is None
