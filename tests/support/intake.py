"""Request bodies the API takes: an intake dated from today, service lines, a payer's approval."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.support.commands import dated_command


def today() -> date:
    return datetime.now(UTC).date()


def new_id(prefix: str = "ep") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# What an 837I needs of the intake (2010BA N3/N4, 2310A): a claim is not sent without them.
ADDRESS = {"line": "12 Elm St", "city": "Springfield", "state": "IL", "zip": "62704"}
ATTENDING = {"npi": "1234567893", "last_name": "Okafor", "first_name": "Ada"}


def intake_body(**overrides: Any) -> dict[str, Any]:
    body = dated_command(today(), **overrides).model_dump(
        mode="json", exclude={"type", "policy", "actor"}
    )
    if "patient" not in overrides:
        body["patient"]["address"] = dict(ADDRESS)
    if "attending" not in overrides:
        body["attending"] = dict(ATTENDING)  # a copy: tests (the fuzzer) change bodies
    return body


def service_line(day: date | None = None, **overrides: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "service_id": new_id("S"),
        "date": (day or today()).isoformat(),
        "code": "S9480",
        "revenue_code": "0905",
        "minutes": 180,
        "units": 1,
        "modifiers": [],
        "rendering_npi": "1234567893",
        "roster_signed": True,
        "charge": "150.00",
    }
    return line | overrides


def approval(days: int = 40, units: int = 20, number: str = "AUTH-1") -> dict[str, Any]:
    start = today()
    return {
        "authorization_number": number,
        "start": start,
        "end": start + timedelta(days=days),
        "units": units,
        "service_codes": ("S9480", "90853", "0905"),
    }
