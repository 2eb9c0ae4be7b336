"""Stepdown's own JSON decision format (application/json): parse and render."""

from __future__ import annotations

from pydantic import ValidationError

from domain.model import PayerDecision
from payers.formats.common import check_consistency, describe_validation_error, load_json
from payers.formats.errors import UnparseableDecision

FIELDS = tuple(PayerDecision.model_fields)
SOURCES = {name: f"field {name!r}" for name in FIELDS}


def parse_canonical(body: bytes) -> PayerDecision:
    """Parse `{"trace_number", "action", ...}` with JSON types enforced (no "20" for 20)."""
    document = load_json(body)
    if not isinstance(document, dict):
        raise UnparseableDecision(
            f"the body must be a JSON object with trace_number and action, "
            f"not a JSON {_json_type(document)}"
        )
    unknown = sorted(set(document) - set(FIELDS))
    if unknown:
        raise UnparseableDecision(
            f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(FIELDS)}"
        )
    try:
        # Strict JSON mode: numbers must be numbers, while dates still arrive as ISO strings.
        decision = PayerDecision.model_validate_json(body.decode("utf-8-sig"), strict=True)
    except ValidationError as exc:
        raise UnparseableDecision(describe_validation_error(exc, SOURCES)) from None
    check_consistency(decision, SOURCES)
    return decision


def canonical_body(decision: PayerDecision) -> bytes:
    """Render a decision as the canonical JSON body, leaving out unset optional fields."""
    return decision.model_dump_json(exclude_none=True).encode("utf-8")


def _json_type(value: object) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
