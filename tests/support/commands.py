"""OpenEpisode commands with defaults: on fixed dates for the decider, or dated from a given day."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from domain import commands as c


def open_command(**overrides: Any) -> c.OpenEpisode:
    body: dict[str, Any] = {
        "episode_id": f"ep-{uuid.uuid4().hex[:12]}",
        "patient": {
            "id": "P-100",
            "name": "Jane Roe",
            "birth_date": "1990-04-01",
            "member_id": "MCD123456",
        },
        "payer": {"id": "acme-medicaid", "plan_type": "medicaid_managed_care"},
        "asam_edition": 3,
        "from_level": "2.5",
        "to_level": "2.1",
        "dimensions": {"1": 0, "2": 1, "3": 2, "4": 2, "5": 3, "6": 2},
        "setting": "cmhc",
        "prior_authorization": {
            "number": "PHP-998",
            "level": "2.5",
            "start": "2026-11-02",
            "end": "2026-11-10",
        },
        "requested": {
            "start": "2026-11-23",
            "units": 20,
            "unit_type": "days",
            "service_codes": ["S9480", "90853", "0905"],
        },
        "urgency": "standard",
        "diagnoses": ["F33.1"],
        "php_last_claim_through": "2026-11-10",
    }
    body.update(overrides)
    return c.OpenEpisode.model_validate(body)


def dated_command(today: date, **overrides: Any) -> c.OpenEpisode:
    fields: dict[str, Any] = {
        "episode_id": f"ep-{uuid.uuid4().hex[:12]}",
        "requested": {
            "start": today.isoformat(),
            "units": 20,
            "unit_type": "days",
            "service_codes": ["S9480", "90853", "0905"],
        },
        "prior_authorization": {
            "number": "PHP-1",
            "level": "2.5",
            "start": (today - timedelta(days=30)).isoformat(),
            "end": (today - timedelta(days=10)).isoformat(),
        },
        "php_last_claim_through": (today - timedelta(days=10)).isoformat(),
    }
    fields.update(overrides)
    return open_command(**fields)
