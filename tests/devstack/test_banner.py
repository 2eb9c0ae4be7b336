"""`stepdown dev` says how long Temporal keeps closed runs and how long the record is kept."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from devstack.stack import DevStack
from settings import Settings


def test_the_banner_shows_both_retentions(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "STEPDOWN_DEV": "1",
            "STEPDOWN_DATA_DIR": str(tmp_path),
            "STEPDOWN_TEMPORAL_RETENTION_DAYS": 14,
            "STEPDOWN_EVENT_RETENTION_YEARS": 7,
        }
    )
    console = Console(record=True, width=200)

    DevStack(settings, console, seed_demo=False)._banner(1.0)

    text = console.export_text()
    assert "Temporal keeps closed runs 14 days; the event store keeps events 7 years" in text


def test_event_retention_below_hipaa_six_years_is_refused() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="STEPDOWN_EVENT_RETENTION_YEARS"):
        Settings.model_validate({"STEPDOWN_EVENT_RETENTION_YEARS": 5})
