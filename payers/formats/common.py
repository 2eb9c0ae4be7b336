"""Helpers every decision format shares: JSON loading and building a checked PayerDecision."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError

from domain.model import PayerDecision, UnitType
from payers.formats.errors import UnparseableDecision

# HSD01 quantity qualifiers (X12 element 673) that map onto stepdown's unit types.
QUANTITY_QUALIFIERS: dict[str, UnitType] = {
    "DY": "days",
    "VS": "sessions",
    "FL": "units_15min",
    "HS": "hours",
}
QUALIFIER_FOR_UNIT: dict[UnitType, str] = {unit: code for code, unit in QUANTITY_QUALIFIERS.items()}


def is_revenue_code(code: str) -> bool:
    """NUBC revenue codes are four digits (0905); HCPCS and CPT codes are five characters."""
    return len(code) == 4 and code.isdigit() and code.isascii()


def load_json(body: bytes) -> object:
    """Decode a UTF-8 JSON body, turning every decoding failure into UnparseableDecision."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnparseableDecision(f"the body is not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnparseableDecision(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except (ValueError, RecursionError):
        # Oversized integers and pathological nesting are not decisions either.
        raise UnparseableDecision("the body is not usable JSON (too deep or too large)") from None


def build_decision(fields: Mapping[str, Any], sources: Mapping[str, str]) -> PayerDecision:
    """Validate fields into a PayerDecision; `sources` names where each field came from."""
    try:
        decision = PayerDecision.model_validate(dict(fields))
    except ValidationError as exc:
        raise UnparseableDecision(describe_validation_error(exc, sources)) from None
    check_consistency(decision, sources)
    return decision


def describe_validation_error(exc: ValidationError, sources: Mapping[str, str]) -> str:
    """One sentence per problem, naming the field as the sender wrote it."""
    problems = []
    for error in exc.errors():
        loc = error["loc"]
        field = str(loc[0]) if loc else "body"
        where = sources.get(field, field)
        suffix = "".join(f"[{part}]" for part in loc[1:])
        problems.append(f"{where}{suffix}: {error['msg']}")
    return "; ".join(problems)


# Dates a payer decision may carry; anything else is a typo or a probe, never a coverage period.
YEARS = range(1900, 2101)


def check_consistency(decision: PayerDecision, sources: Mapping[str, str]) -> None:
    """Reject decisions the model accepts but no one can act on."""
    for name in ("start", "end", "decided_at"):
        value = getattr(decision, name)
        if value is not None and value.year not in YEARS:
            raise UnparseableDecision(
                f"{sources.get(name, name)} {value.isoformat()}: the year must be within "
                f"{YEARS.start}–{YEARS.stop - 1}"
            )
    if decision.start and decision.end and decision.end < decision.start:
        raise UnparseableDecision(
            f"{sources.get('end', 'end')} {decision.end} is before "
            f"{sources.get('start', 'start')} {decision.start}"
        )
    if decision.extension_days is not None and decision.action != "A4":
        # §3: an extension notice decides nothing, so it only comes with a pended answer.
        raise UnparseableDecision(
            f"{sources.get('extension_days', 'extension_days')} comes only with a pended "
            f"answer (A4), not {decision.action}"
        )
    at = decision.decided_at
    if at is not None and at.utcoffset() is None:
        raise UnparseableDecision(
            f"{sources.get('decided_at', 'decided_at')} {at.isoformat()} has no UTC offset; "
            "add one (for example Z or -05:00)"
        )


def fhir_date(text: str, where: str) -> date:
    """A FHIR date, or the date part of a FHIR dateTime (periods may carry either)."""
    if "T" in text:
        return fhir_datetime(text, where).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UnparseableDecision(f"{where} {text!r} is not a date (YYYY-MM-DD)") from None


def fhir_datetime(text: str, where: str) -> datetime:
    """A FHIR dateTime; a bare date is read as the start of that day in UTC."""
    try:
        if "T" not in text:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        return datetime.fromisoformat(text)
    except ValueError:
        raise UnparseableDecision(
            f"{where} {text!r} is not a date-time (YYYY-MM-DDThh:mm:ss+zz:zz)"
        ) from None
