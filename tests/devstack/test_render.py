"""Due times read relative to now, as a person on the worklist wants them."""

from __future__ import annotations

from datetime import UTC, datetime

from devstack.render import relative

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def test_a_future_instant_reads_as_in_days_and_hours():
    assert relative("2026-11-25T17:00:00+00:00", NOW) == "in 2 d 3 h"


def test_a_past_instant_reads_as_ago():
    assert relative("2026-11-23T12:30:00+00:00", NOW) == "1 h 30 min ago"


def test_exact_adds_the_instant_and_missing_values_stay_empty():
    assert relative("2026-11-23T14:00:45+00:00", NOW, exact=True) == (
        "in 45 s (2026-11-23T14:00:45+00:00)"
    )
    assert relative(None, NOW) == ""
    assert relative("not a date", NOW) == "not a date"


def test_values_from_the_api_are_never_rich_markup():
    from rich.console import Console

    from devstack.render import episode_view, worklist_table

    view = {
        "episode_id": "ep-1",
        "state": "authorized",
        "payer": {"id": "acme", "plan_type": "commercial"},
        "authorization": {
            "number": "AUTH-[b]1",
            "start": "2026-11-23",
            "end": "2026-12-20",
            "units": 20,
            "unit_type": "days",
            "status": "active",
        },
        "units": {"approved": 20, "used": 0},
    }
    items = [{"episode_id": "ep-1", "kind": "claims_held", "detail": "[red]held[/red] [x]"}]
    console = Console(record=True, width=200, color_system=None)

    console.print(episode_view(view))
    console.print(worklist_table(items))
    text = console.export_text()

    assert "AUTH-[b]1" in text and "[active]" in text
    assert "[red]held[/red] [x]" in text


def test_the_claims_table_shows_dropped_lines_and_what_superseded_a_claim():
    from rich.console import Console

    from devstack.render import episode_view

    short = {"code": "below_minimum_minutes", "detail": "too short", "lines": ["S-9"]}
    view = {
        "episode_id": "ep-1",
        "state": "authorized",
        "payer": {"id": "acme", "plan_type": "commercial"},
        "units": {"approved": 20, "used": 1},
        "claims": [
            {"claim_id": "C-1", "status": "superseded", "through": "2026-11-30",
             "superseded_by": "C-2", "dropped": [short]},
            {"claim_id": "C-2", "status": "released", "through": "2026-11-30", "dropped": [short]},
            {"claim_id": "C-3", "status": "superseded", "through": "2026-11-30"},
        ],
    }  # fmt: skip
    console = Console(record=True, width=200, color_system=None)

    console.print(episode_view(view))
    rows = {line.split()[1]: line for line in console.export_text().splitlines() if "C-" in line}

    assert "C-2" in rows["C-1"] and "below_minimum_minutes (S-9)" in rows["C-1"]
    assert "below_minimum_minutes (S-9)" in rows["C-2"]
    assert "withdrawn" in rows["C-3"]
