"""Recording attended services (§6, API "Services and claims"): check_services."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.claims import check_services
from domain.errors import Rejected
from domain.state import DischargeInfo, Episode
from tests.support.domain_factories import episode, opened_event, service

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)


def problem_codes(state: Episode, **fields: object) -> list[str]:
    check = check_services(state, [service(**fields)], NOW)
    return [p.code for p in check.rejected]


def test_valid_service_is_accepted_without_warning():
    one = service()
    check = check_services(episode(), [one], NOW)
    assert check.accepted == (one,)
    assert check.rejected == check.warnings == check.duplicates == ()


def test_service_is_rejected_when_npi_check_digit_fails():
    assert problem_codes(episode(), rendering_npi="1234567890") == ["invalid_npi"]


def test_service_is_rejected_when_code_is_unknown():
    state = episode()
    check = check_services(state, [service(code="99213", service_id="S-1")], NOW)
    assert [(p.service_id, p.code) for p in check.rejected] == [("S-1", "unknown_code")]
    assert "99213" in check.rejected[0].detail


@pytest.mark.parametrize(
    "setting", ["hospital_outpatient", "cmhc", "rhc", "fqhc", "freestanding", "otp"]
)
def test_service_without_hcpcs_is_rejected_where_the_setting_reports_one(setting):
    state = episode(opened=opened_event(setting=setting))
    assert problem_codes(state, code="") == ["missing_hcpcs"]


@pytest.mark.parametrize("code", ["", "90853"])
def test_cah_service_is_accepted_with_or_without_a_code(code):
    state = episode(opened=opened_event(setting="cah"))
    check = check_services(state, [service(code=code, revenue_code="0915")], NOW)
    assert len(check.accepted) == 1 and check.warnings == ()


def test_drug_service_on_0250_needs_no_hcpcs():
    assert problem_codes(episode(), code="", revenue_code="0250") == []


def test_service_is_rejected_when_revenue_code_is_unknown():
    assert problem_codes(episode(), revenue_code="0999") == ["unknown_revenue_code"]


def test_service_is_rejected_when_dated_before_the_episode_opened():
    state = episode()
    assert problem_codes(state, date=date(2026, 11, 22)) == ["before_episode"]
    assert problem_codes(state, date=date(2026, 11, 23)) == []


def test_episode_opens_on_the_requested_start_when_that_is_earlier():
    opened = opened_event(
        requested={
            "start": date(2026, 11, 20),
            "units": 20,
            "unit_type": "days",
            "service_codes": ("90853",),
        }
    )
    state = episode(opened=opened)
    assert problem_codes(state, date=date(2026, 11, 20)) == []
    assert problem_codes(state, date=date(2026, 11, 19)) == ["before_episode"]


def test_service_is_rejected_when_dated_after_the_discharge():
    state = episode(
        discharge=DischargeInfo(
            date=date(2026, 12, 5), patient_status="01", disposition="completed"
        )
    )
    assert problem_codes(state, date=date(2026, 12, 6)) == ["after_discharge"]
    assert problem_codes(state, date=date(2026, 12, 5)) == []


def test_service_is_rejected_when_dated_in_the_future():
    evening = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    check = check_services(episode(), [service(date=date(2026, 11, 25))], evening)
    assert [p.code for p in check.rejected] == ["future_date"]


def test_every_problem_of_a_line_is_listed():
    codes = problem_codes(
        episode(),
        rendering_npi="1234567890",
        code="99999",
        revenue_code="0999",
        date=date(2026, 11, 1),
    )
    assert codes == ["invalid_npi", "unknown_code", "unknown_revenue_code", "before_episode"]


def test_recorded_service_sent_again_unchanged_is_a_duplicate():
    one = service(service_id="S-1")
    check = check_services(episode(services=[one]), [one], NOW)
    assert check.duplicates == ("S-1",) and check.accepted == () and check.rejected == ()


def test_recorded_service_sent_again_changed_is_rejected():
    one = service(service_id="S-1")
    changed = one.model_copy(update={"minutes": 50})
    check = check_services(episode(services=[one]), [changed], NOW)
    assert [(p.service_id, p.code) for p in check.rejected] == [("S-1", "service_id_conflict")]
    assert "/correct" in check.rejected[0].detail


def test_a_voided_service_id_stays_taken():
    one = service(service_id="S-1")
    state = episode(voided_services={"S-1": "entered twice"})
    check = check_services(state, [one], NOW)
    assert [(p.service_id, p.code) for p in check.rejected] == [("S-1", "service_id_conflict")]
    assert "voided" in check.rejected[0].detail


def test_service_repeated_in_one_batch_is_accepted_once_and_a_changed_repeat_rejected():
    one = service(service_id="S-1")
    changed = one.model_copy(update={"units": 2})
    check = check_services(episode(), [one, one, changed], NOW)
    assert check.accepted == (one,) and check.duplicates == ("S-1",)
    assert [p.code for p in check.rejected] == ["service_id_conflict"]
    assert "twice in this batch" in check.rejected[0].detail


def test_pair_outside_the_table_is_accepted_with_a_warning():
    odd = service(service_id="S-1", code="H0015", revenue_code="0915")
    check = check_services(episode(), [odd], NOW)
    assert check.accepted == (odd,)
    assert [(w.service_id, w.code) for w in check.warnings] == [("S-1", "pair_outside_table")]
    assert check.warnings[0].detail == (
        "revenue code 0915 is not usually billed with HCPCS H0015 for IOP; "
        "the payer may deny the line; check the revenue code"
    )


def test_a_pair_warning_mentions_medicare_only_to_a_medicare_payer():
    odd = service(service_id="S-1", code="H0015", revenue_code="0915")
    medicare = opened_event(payer={"id": "acme-ma", "plan_type": "medicare_advantage"})

    [warning] = check_services(episode(opened=medicare), [odd], NOW).warnings
    [other] = check_services(episode(), [odd], NOW).warnings

    assert "Medicare does not check this pairing" in warning.detail
    assert "Medicare" not in other.detail and "DOMAIN" not in other.detail


def test_services_cannot_be_checked_before_the_episode_is_open():
    with pytest.raises(Rejected) as err:
        check_services(Episode(), [service()], NOW)
    assert err.value.code == "invalid_state"
