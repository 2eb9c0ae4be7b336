from datetime import date, timedelta

import pytest

from domain import commands as c
from domain.errors import Rejected
from tests.support.scenario import Scenario, service


def authorized(**approve) -> Scenario:
    s = Scenario()
    s.approve(**approve)
    return s


def record(s: Scenario, *days: date, **fields) -> list[str]:
    """Record one service a day, moving the clock to the last day so none is in the future."""
    services = [service(d, **fields) for d in days]
    last = max(days)
    s.now = max(s.now, s.now.replace(year=last.year, month=last.month, day=last.day))
    s.run(c.RecordServices(services=tuple(services)))
    return [x.service_id for x in services]


def test_claim_inside_the_authorization_is_released_as_an_interim_first_bill():
    s = authorized()
    ids = record(s, date(2026, 11, 24), date(2026, 11, 25))
    events = s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    assert s.types(events) == ["claim_released"]
    claim = s.state.claims["C-1"].claim
    assert claim is not None
    assert claim.type_of_bill == "0762" and claim.condition_codes == ("92",)
    assert claim.patient_status == "30"
    assert [line.service_id for line in claim.lines] == ids


def test_releasing_the_same_claim_id_twice_releases_once():
    s = authorized()
    record(s, date(2026, 11, 24))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    assert s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30))) == []


def test_nothing_to_bill_is_rejected():
    s = authorized()
    with pytest.raises(Rejected) as err:
        s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    assert err.value.code == "nothing_to_bill"


def test_claim_before_any_authorization_is_held_then_released_by_a_retro_authorization():
    s = Scenario()
    record(s, date(2026, 11, 24))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    held = s.state.claims["C-1"]
    assert held.status == "held" and held.reasons[0].code == "no_authorization"
    events = s.approve()
    assert s.types(events) == ["authorization_granted", "claim_released"]
    assert events[1].was_held  # type: ignore[union-attr]
    assert s.state.claims["C-1"].status == "released"


def test_claim_after_the_authorization_ended_is_held_until_the_extension_arrives():
    s = authorized(end=date(2026, 12, 4))
    record(s, date(2026, 12, 7))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 12, 31)))
    assert s.state.claims["C-1"].reasons[0].code == "outside_authorization_dates"
    s.fire("concurrent_review_due")
    assert s.state.pending is not None and s.state.pending.purpose == "extension"
    s.decision("A1", authorization_number="AUTH-1", end=date(2027, 1, 15), units=10)
    assert s.state.claims["C-1"].status == "released"


def test_eighty_percent_of_units_used_makes_the_concurrent_review_due():
    s = authorized(units=5)
    events_before = len(s.events)
    record(s, *(date(2026, 11, 24) + timedelta(days=i) for i in range(4)))
    new = s.types(s.events[events_before:])
    assert new == ["services_recorded", "authorization_requested"]
    assert s.state.pending is not None and s.state.pending.purpose == "extension"


def test_units_used_up_by_released_lines_end_the_authorization():
    s = authorized(units=2)
    record(s, date(2026, 11, 24), date(2026, 11, 25))
    assert s.state.ended_authorizations == {}  # recorded lines consume nothing yet
    events = s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    assert s.types(events) == ["claim_released", "authorization_ended"]
    assert s.state.ended_authorizations == {"AUTH-1": "exhausted"}
    assert s.state.status == "expired"


def test_discharge_in_the_first_month_makes_the_only_claim_admit_through_discharge():
    s = authorized()
    record(s, date(2026, 11, 24))
    s.run(c.Discharge(date=date(2026, 11, 24), patient_status="01", disposition="completed"))
    assert s.state.status == "discharged"
    events = s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    claim = s.state.claims["C-1"].claim
    assert claim is not None
    assert claim.type_of_bill == "0761" and claim.patient_status == "01"
    assert s.types(events) == ["claim_released", "episode_closed"]


def test_discharge_after_an_interim_bill_makes_the_last_claim_frequency_four():
    s = authorized()
    record(s, date(2026, 11, 24))
    s.run(c.ReleaseClaim(claim_id="C-11", through=date(2026, 11, 30)))
    record(s, date(2026, 12, 2))
    s.run(
        c.Discharge(
            date=date(2026, 12, 2), patient_status="01", disposition="step_down", to_level="1"
        )
    )
    s.run(c.ReleaseClaim(claim_id="C-12", through=date(2026, 12, 31)))
    claim = s.state.claims["C-12"].claim
    assert claim is not None and claim.type_of_bill == "0764"
    assert s.state.status == "closed"


def test_discharge_with_nothing_to_bill_closes_at_once():
    s = authorized()
    events = s.run(c.Discharge(date=s.now.date(), patient_status="07", disposition="left_ama"))
    assert s.types(events) == ["discharged", "episode_closed"]


def test_discharge_problems_are_listed_together():
    s = authorized()
    record(s, date(2026, 11, 25))
    with pytest.raises(Rejected) as err:
        s.run(
            c.Discharge(
                date=date(2026, 11, 24), patient_status="30", disposition="other", to_level="9.9"
            )
        )
    assert len(err.value.problems) == 3
    with pytest.raises(Rejected, match="in the future"):
        s.run(
            c.Discharge(
                date=s.now.date() + timedelta(days=3), patient_status="01", disposition="other"
            )
        )


def test_discharging_twice_is_refused():
    s = authorized()
    s.run(c.Discharge(date=s.now.date(), patient_status="01", disposition="completed"))
    with pytest.raises(Rejected):
        s.run(c.Discharge(date=s.now.date(), patient_status="01", disposition="completed"))


def test_duplicate_services_are_recorded_once():
    s = authorized()
    one = service(date(2026, 11, 23))
    s.run(c.RecordServices(services=(one,)))
    assert s.run(c.RecordServices(services=(one,))) == []


def test_cancel_after_a_released_claim_is_refused():
    s = authorized()
    record(s, date(2026, 11, 24))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    with pytest.raises(Rejected, match="discharge it instead"):
        s.run(c.Cancel(reason="x"))
