from datetime import date, timedelta

import pytest

from domain.decider import decide
from domain.errors import Rejected
from domain.state import Episode
from tests.support.commands import open_command
from tests.support.scenario import T0, Scenario


def test_opening_an_episode_requests_the_iop_authorization_with_a_payer_deadline():
    s = Scenario()
    assert s.types() == ["episode_opened", "authorization_requested"]
    assert s.state.status == "auth_requested"
    assert s.state.deadlines == {"payer_decision_due": T0 + timedelta(days=7)}
    assert s.trace.startswith("SD-") and s.trace.endswith("-1")


def test_expedited_request_is_due_in_72_hours():
    s = Scenario(urgency="expedited")
    assert s.state.deadlines["payer_decision_due"] == T0 + timedelta(hours=72)


def test_trace_number_carries_no_patient_data():
    s = Scenario()
    assert "Roe" not in s.trace and "MCD123456" not in s.trace


def test_opening_again_with_the_same_details_changes_nothing():
    s = Scenario()
    s.advance(hours=1)
    assert s.run(s.command) == []


def test_opening_again_with_other_details_is_a_conflict():
    s = Scenario()
    other = s.command.model_copy(update={"urgency": "expedited"})
    with pytest.raises(Rejected) as err:
        decide(s.state, other, T0)
    assert err.value.code == "conflict"


def test_intake_lists_every_problem_at_once():
    cmd = open_command(
        from_level="1",
        dimensions={"1": 9, "2": 0, "3": 0, "4": 0, "5": 0, "6": 0},
        requested={
            "start": "2026-11-23",
            "units": 20,
            "unit_type": "days",
            "service_codes": ["ZZZZZ"],
        },
        diagnoses=["not-a-dx"],
        php_last_claim_through="2026-12-01",
        prior_authorization={
            "number": "P",
            "level": "2.5",
            "start": "2026-11-10",
            "end": "2026-11-01",
        },
    )
    with pytest.raises(Rejected) as err:
        decide(Episode(), cmd, T0)
    assert err.value.code == "invalid_input"
    text = " | ".join(err.value.problems)
    for fragment in (
        "is not above 2.1",
        "dimension 1 risk",
        "'ZZZZZ' is not a known",
        "'not-a-dx' is not an ICD-10-CM",
        "php_last_claim_through is after",
        "prior_authorization.start is after",
        "differs from from_level",
    ):
        assert fragment in text


def test_birth_date_in_the_future_is_rejected():
    cmd = open_command(
        patient={"id": "P", "name": "N", "birth_date": "2030-01-01", "member_id": "M"}
    )
    with pytest.raises(Rejected, match="birth_date must be in the past"):
        decide(Episode(), cmd, T0)


def test_self_pay_needs_no_payer_authorization():
    s = Scenario(payer={"id": "self", "plan_type": "self_pay"})
    assert s.types() == ["episode_opened", "authorization_granted"]
    assert s.state.status == "authorized"
    auth = s.state.authorizations[0]
    assert auth.number == "SELF-PAY" and auth.start == date(2026, 11, 23)


def test_naive_now_is_a_programming_error():
    with pytest.raises(ValueError):
        decide(Episode(), open_command(), T0.replace(tzinfo=None))


def test_an_attending_clinician_with_a_bad_npi_check_digit_is_refused():
    good = open_command(attending={"npi": "1234567893", "last_name": "Okafor", "first_name": "A"})
    assert next(e.type for e in decide(Episode(), good, T0)) == "episode_opened"
    bad = open_command(attending={"npi": "1234567890", "last_name": "Okafor", "first_name": "A"})
    with pytest.raises(Rejected) as refused:
        decide(Episode(), bad, T0)
    assert "attending.npi 1234567890 fails its check digit" in str(refused.value.problems)
