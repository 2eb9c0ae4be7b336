"""Builders of domain values with sensible defaults: an `Episode` straight, without events."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from domain.events import EpisodeOpened
from domain.model import Authorization, Service
from domain.policy import default_policy
from domain.state import ClaimRecord, Episode

OPENED_AT = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
START = date(2026, 11, 23)


def opened_event(**overrides: Any) -> EpisodeOpened:
    fields: dict[str, Any] = {
        "at": OPENED_AT,
        "episode_id": f"ep-{uuid.uuid4().hex[:12]}",
        "patient": {
            "id": "P-100",
            "name": "Jane Roe",
            "birth_date": date(1990, 4, 1),
            "member_id": "MCD123456",
        },
        "payer": {"id": "acme-medicaid", "plan_type": "medicaid_managed_care"},
        "policy": default_policy("medicaid_managed_care"),
        "asam_edition": 3,
        "from_level": "2.5",
        "to_level": "2.1",
        "dimensions": {"1": 0, "2": 1, "3": 2, "4": 2, "5": 3, "6": 2},
        "setting": "cmhc",
        "requested": {
            "start": START,
            "units": 20,
            "unit_type": "days",
            "service_codes": ("S9480", "90853", "0905"),
        },
        "urgency": "standard",
        "diagnoses": ("F33.1",),
    }
    fields.update(overrides)
    return EpisodeOpened.model_validate(fields)


def authorization(**overrides: Any) -> Authorization:
    fields: dict[str, Any] = {
        "number": "AUTH-1",
        "start": START,
        "end": date(2026, 12, 31),
        "units": 20,
        "unit_type": "days",
        "service_codes": ("S9480", "90853", "0905"),
    }
    fields.update(overrides)
    return Authorization.model_validate(fields)


def service(**overrides: Any) -> Service:
    fields: dict[str, Any] = {
        "service_id": f"S-{uuid.uuid4().hex[:8]}",
        "date": date(2026, 11, 24),
        "code": "90853",
        "revenue_code": "0905",
        "minutes": 60,
        "units": 1,
        "rendering_npi": "1234567893",
        "roster_signed": True,
        "charge": Decimal("80.00"),
    }
    fields.update(overrides)
    return Service.model_validate(fields)


def claim_record(**overrides: Any) -> ClaimRecord:
    fields: dict[str, Any] = {
        "claim_id": f"C-{uuid.uuid4().hex[:8]}",
        "status": "released",
        "through": date(2026, 11, 30),
        "service_ids": (),
    }
    fields.update(overrides)
    return ClaimRecord.model_validate(fields)


def episode(**overrides: Any) -> Episode:
    """An authorized episode; `services` and `claims` may be given as lists of values."""
    opened = overrides.pop("opened", None) or opened_event()
    fields: dict[str, Any] = {
        "episode_id": opened.episode_id,
        "status": "authorized",
        "opened": opened,
        "authorizations": (authorization(),),
    }
    fields.update(overrides)
    fields["services"] = _by_key(fields.get("services", {}), "service_id")
    fields["claims"] = _by_key(fields.get("claims", {}), "claim_id")
    return Episode.model_validate(fields)


def _by_key(values: dict[str, Any] | Iterable[Any], key: str) -> dict[str, Any]:
    if isinstance(values, dict):
        return values
    return {getattr(v, key): v for v in values}
