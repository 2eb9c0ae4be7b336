"""Undated worklist items (held claims, failed effects, repeated no-shows) rank by their
age and the money at stake, among the dated ones, not after all of them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from domain import commands as c
from domain.project import worklist_items
from domain.views import UNDATED_GRACE_DAYS, WorklistItem, ranked_at
from tests.support.scenario import Scenario, service

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def undated(since: datetime | None, value: str | None = None) -> WorklistItem:
    return WorklistItem.model_validate(
        {
            "episode_id": "ep-1",
            "kind": "claims_held",
            "due": None,
            "detail": "held",
            "since": since,
            "value": value,
        }
    )


def test_a_dated_item_ranks_at_its_due_time_whatever_it_carries() -> None:
    due = NOW + timedelta(hours=3)
    item = WorklistItem(
        episode_id="ep-1", kind="appeal_due", due=due, detail="", since=NOW, value=Decimal(9999)
    )
    assert ranked_at(item) == due


def test_an_undated_item_ranks_by_age_then_a_day_sooner_per_thousand_dollars() -> None:
    since = NOW - timedelta(days=20)

    assert ranked_at(undated(since)) == since + timedelta(days=UNDATED_GRACE_DAYS)
    assert ranked_at(undated(since, "999.99")) == since + timedelta(days=UNDATED_GRACE_DAYS)
    assert ranked_at(undated(since, "3000.00")) == since + timedelta(days=UNDATED_GRACE_DAYS - 3)
    # However much is at stake, never before the item began waiting.
    assert ranked_at(undated(since, "1000000")) == since
    assert ranked_at(undated(None, "5000")) is None


def test_held_claims_wait_since_their_oldest_service_for_their_charges() -> None:
    s = Scenario()  # no authorization: the claim is held
    s.now = s.now.replace(day=26)
    older = service(date(2026, 11, 24), charge=Decimal("120.50"))
    newer = service(date(2026, 11, 25), charge=Decimal("80.00"))
    s.run(c.RecordServices(services=(older, newer)))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))

    [held] = [i for i in worklist_items(s.state, s.now) if i.kind == "claims_held"]

    assert held.due is None
    assert held.since == datetime(2026, 11, 24, tzinfo=UTC)
    assert held.value == Decimal("200.50")
    assert "$200.50 waiting since 2026-11-24" in held.detail
