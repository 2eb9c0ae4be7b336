"""What the claim rules tell a person (domain/claims.py): each refusal or warning names the
action to take — the route to correct a service, where a valid NPI comes from, the revenue
codes IOP bills on, what to do when nothing can bill. Asserted by their key phrases, where a
coordinator reads them, so that changing the advice is a deliberate change."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.attendance import AttendanceEntry
from domain.claims import check_services, close_if_done, gate, pair_warning
from domain.errors import Rejected
from domain.state import DischargeInfo, Episode
from tests.support.domain_factories import (
    authorization,
    claim_record,
    episode,
    opened_event,
    service,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def refusal(state: Episode, **fields: object) -> str:
    [problem] = check_services(state, [service(**fields)], NOW).rejected
    return problem.detail


def test_a_changed_repeat_of_a_recorded_service_is_sent_to_the_correct_route() -> None:
    one = service(service_id="S-1")
    changed = one.model_copy(update={"minutes": 50})

    [problem] = check_services(episode(services=[one]), [changed], NOW).rejected

    assert "correct it with POST /episodes/{id}/services/{service_id}/correct" in problem.detail


def test_each_refused_line_says_how_to_put_it_right() -> None:
    state = episode()

    assert refusal(state, rendering_npi="1234567890").endswith(
        "; correct it from the clinician's NPPES record"
    )
    revenue = refusal(state, revenue_code="0999")
    assert "not an IOP revenue code (0250, 043X, 0900, 0904–0906" in revenue
    assert revenue.endswith("0942); correct it")
    assert refusal(state, date=date(2026, 11, 20)).endswith(
        "; bill earlier services under the prior level of care"
    )


def test_a_missed_session_is_refused_as_never_billed() -> None:
    missed = AttendanceEntry.model_validate(
        {"session_id": "S-miss", "date": date(2026, 11, 25), "status": "late_cancel"}
    )
    detail = refusal(episode(attendance={"S-miss": missed}), service_id="S-miss")

    assert "S-miss was a no-show or late cancel" in detail and "never billed" in detail


def test_nothing_to_bill_names_the_lines_that_can_never_bill_and_what_to_do() -> None:
    short = [service(service_id=f"S-{n}", code="90832", minutes=5) for n in (1, 2)]

    with pytest.raises(Rejected) as never:
        gate(episode(services=short), date(2026, 11, 30))
    with pytest.raises(Rejected) as empty:
        gate(episode(), date(2026, 11, 30))

    assert "can never bill as recorded (S-1, S-2); correct or void them" in str(never.value)
    assert "before 2026-11-30; record the attended services first" in str(empty.value)
    assert str(empty.value).endswith("or choose a later through date")


def test_a_claim_on_an_episode_never_opened_is_refused_as_not_open() -> None:
    with pytest.raises(Rejected) as refused:
        gate(Episode(), date(2026, 11, 30))

    assert (refused.value.code, refused.value.problems) == (
        "invalid_state",
        ["the episode is not open"],
    )


def test_a_line_without_a_code_warns_that_it_has_no_hcpcs() -> None:
    """Recorded under older rules, a line may carry no code: the warning says so."""
    warning = pair_warning(episode(), service(code="", revenue_code="0905"))

    assert warning is not None and "with no HCPCS code for IOP" in warning


def test_to_a_medicare_payer_a_stray_pair_still_asks_to_check_the_revenue_code() -> None:
    medicare = opened_event(payer={"id": "acme-ma", "plan_type": "medicare_advantage"})
    odd = service(code="H0015", revenue_code="0915")

    warning = pair_warning(episode(opened=medicare), odd)

    assert warning is not None and "for IOP; Medicare does not check this pairing" in warning
    assert warning.endswith("but check the revenue code")


def test_a_claim_over_two_authorizations_asks_to_check_the_other_lines_with_the_payer() -> None:
    first = authorization(end=date(2026, 11, 24))
    second = authorization(number="AUTH-2", start=date(2026, 11, 25))
    days = [date(2026, 11, 24), date(2026, 11, 25)]
    state = episode(authorizations=(first, second), services=[service(date=d) for d in days])

    verdict = gate(state, date(2026, 11, 30))

    [warning] = verdict.claim.warnings  # type: ignore[union-attr]
    assert "the 837I reports one prior authorization number" in warning
    assert warning.endswith("so check the other lines with the payer")


def test_a_discharged_episode_with_every_service_on_a_sent_claim_closes_saying_so() -> None:
    discharge = DischargeInfo(date=date(2026, 11, 28), patient_status="01", disposition="completed")
    sent = claim_record(claim_id="C-1", service_ids=("S-1",))
    state = episode(
        status="discharged",
        discharge=discharge,
        services=[service(service_id="S-1")],
        claims=[sent],
    )

    [closed] = close_if_done(state, NOW)

    assert closed.reason == "discharged and every service billed"  # type: ignore[attr-defined]
