"""The worklist page shows how long an undated item has waited, in the order it ranks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.console.worklist_page import Worklist, worklist_body
from domain.views import WorklistItem
from store.ports import urgency
from tests.support.console_client import visible_text

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_a_long_held_claim_comes_before_a_deadline_next_week_and_says_how_long_it_waited() -> None:
    held = WorklistItem.model_validate(
        {
            "episode_id": "ep-held",
            "kind": "claims_held",
            "due": None,
            "detail": "1 claim(s) held: no_authorization",
            "since": NOW - timedelta(days=20),
            "value": "640.00",
        }
    )
    dated = WorklistItem(
        episode_id="ep-dated", kind="appeal_due", due=NOW + timedelta(days=7), detail="appeal"
    )
    items = sorted([dated, held], key=urgency)

    page = worklist_body(Worklist(items, {}, {}, []), None, None, NOW, "UTC")

    text = visible_text(page)
    assert [i.episode_id for i in items] == ["ep-held", "ep-dated"]
    assert text.index("ep-held") < text.index("ep-dated")
    assert "no date waiting 20 d" in text
