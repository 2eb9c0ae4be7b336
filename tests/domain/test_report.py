"""The summary report: counts, rates, hours and charges per payer, over a period."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from domain import commands as c
from domain.report import PayerEvent, summary_report
from domain.views import StoredEvent
from tests.support.scenario import T0, Scenario, service

START, END = T0 - timedelta(days=1), T0 + timedelta(days=40)
COMMERCIAL = {"id": "acme-commercial", "plan_type": "commercial"}


def rows(*scenarios: Scenario) -> list[PayerEvent]:
    out = []
    for s in scenarios:
        payer = s.command.payer
        for seq, event in enumerate(s.events, start=1):
            data = event.model_dump(mode="json", exclude={"type", "at"})
            stored = StoredEvent(seq=seq, type=event.type, at=event.at, data=data)
            out.append(PayerEvent(s.command.episode_id, payer.id, payer.plan_type, stored))
    return out


def record(s: Scenario, *days: date, **fields: object) -> None:
    last = max(days)
    s.now = max(s.now, datetime(last.year, last.month, last.day, 18, tzinfo=T0.tzinfo))
    s.run(c.RecordServices(services=tuple(service(d, **fields) for d in days)))


def approved_and_billed() -> Scenario:
    s = Scenario()
    s.advance(hours=10)
    s.approve(units=20)
    record(s, date(2026, 11, 24), date(2026, 11, 25))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    return s


def denied_then_overturned() -> Scenario:
    s = Scenario()
    s.advance(hours=30)
    s.decision("A3", reason="criteria")
    s.run(c.RequestP2P())
    s.run(c.ScheduleP2P(at=s.now + timedelta(hours=4)))
    s.advance(hours=5)
    s.run(c.RecordP2POutcome(outcome="overturned"))
    return s


def partial_and_held() -> Scenario:
    s = Scenario(payer=COMMERCIAL)
    s.fire("payer_decision_due")  # the payer missed its deadline
    s.approve(units=5, end=date(2026, 11, 30))
    record(s, date(2026, 12, 1), charge=Decimal("125.50"))
    s.run(c.ReleaseClaim(claim_id="C-9", through=date(2026, 12, 31)))
    return s


def test_each_payer_gets_its_counts_rates_hours_and_charges() -> None:
    report = summary_report(
        rows(approved_and_billed(), denied_then_overturned(), partial_and_held()), START, END
    )

    medicaid, commercial = (
        next(p for p in report.payers if p.payer_id == "acme-medicaid"),
        next(p for p in report.payers if p.payer_id == "acme-commercial"),
    )
    assert (medicaid.requests, medicaid.approvals, medicaid.denials) == (2, 1, 1)
    assert medicaid.denial_rate == 0.5
    assert (medicaid.p2p_decided, medicaid.p2p_overturned, medicaid.p2p_overturn_rate) == (
        1,
        1,
        1.0,
    )
    assert (medicaid.decision_hours_median, medicaid.decision_hours_p90) == (20.0, 30.0)
    assert (medicaid.claims_released, medicaid.released_charges) == (1, Decimal("160.00"))
    assert (medicaid.units_approved, medicaid.units_used) == (20, 2)

    assert (commercial.requests, commercial.partial_approvals, commercial.approvals) == (1, 1, 0)
    assert commercial.deadlines_missed == 1
    assert (commercial.claims_held, commercial.held_charges) == (1, Decimal("125.50"))
    [(reason, held)] = commercial.held_by_reason.items()
    assert reason == "outside_authorization_dates"
    assert (held.claims, held.charges) == (1, Decimal("125.50"))

    assert report.total.requests == 3 and report.total.denials == 1
    assert report.total.released_charges == Decimal("160.00")


def test_a_period_counts_only_what_happened_in_it() -> None:
    later = summary_report(rows(approved_and_billed()), END, END + timedelta(days=30))
    before = summary_report(rows(approved_and_billed()), START, T0 + timedelta(hours=5))

    assert later.payers == [] and later.total.requests == 0
    [only] = before.payers
    assert (only.requests, only.approvals, only.decision_hours_median) == (1, 0, None)


def test_a_claim_released_after_its_hold_is_not_counted_held() -> None:
    s = Scenario()
    record(s, date(2026, 11, 24))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    s.approve()  # releases the held claim by itself

    [payer] = summary_report(rows(s), START, END).payers

    assert (payer.claims_held, payer.claims_released, payer.held_by_reason) == (0, 1, {})
