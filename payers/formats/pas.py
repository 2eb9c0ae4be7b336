"""Da Vinci PAS 2.2.1 ClaimResponse (application/fhir+json) parsed into a PayerDecision.

The body is validated against the FHIR R4B `ClaimResponse` model of `fhir.resources` first (a
wrong type, an unknown element or an impossible date is refused naming its element); the
decision is then read from the typed resource (DOMAIN §4 mapping).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast, get_args

from fhir.resources.R4B.claimresponse import ClaimResponse
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.quantity import Quantity
from pydantic import ValidationError

from domain.model import PayerDecision, ReviewAction, UnitType
from payers.formats.common import QUANTITY_QUALIFIERS, build_decision, load_json
from payers.formats.errors import UnparseableDecision

ACTION_SYSTEM_SUFFIX = "codesystem.x12.org/005010/306"
QUANTITY_SYSTEM = "https://codesystem.x12.org/005010/673"
ABSENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
# X12 service type codes (element 1365: "3" Consultation, "AI" Substance abuse) name a
# category of care, not a procedure: they never narrow the codes an authorization covers
# (DOMAIN.md §8). Only HCPCS/CPT (and revenue code) codings do.
SERVICE_TYPE_SYSTEM = "codesystem.x12.org/005010/1365"
NOT_PROCEDURES = (ABSENT_SYSTEM, SERVICE_TYPE_SYSTEM)
OUTCOMES = ("queued", "complete", "error", "partial")
UNIT_WORDS: dict[str, UnitType] = {
    "d": "days", "day": "days", "days": "days",
    "visit": "sessions", "visits": "sessions", "session": "sessions", "sessions": "sessions",
    "h": "hours", "hour": "hours", "hours": "hours", "units_15min": "units_15min",
}  # fmt: skip
SOURCES = {
    "trace_number": "ClaimResponse.identifier[0].value",
    "action": "reviewAction.reviewActionCode",
    "authorization_number": "reviewAction.number",
    "start": "itemPreAuthPeriod.start",
    "end": "itemPreAuthPeriod.end",
    "units": "itemAuthorizedDetail.quantity.value",
    "service_codes": "productOrService",
    "reason_code": "reviewAction.reasonCode",
    "reason": "ClaimResponse.disposition",
    "reference": "administrationReferenceNumber",
    "decided_at": "ClaimResponse.created",
}
# `created` is required by FHIR, but a payer's webhook may leave it out; the decision then has
# no decided_at. The placeholder only lets the model validate everything else.
NO_CREATED = "0001-01-01T00:00:00Z"
MAX_ERRORS = 3


@dataclass(frozen=True)
class Review:
    """One reviewAction extension: the X12 HCR segment carried in FHIR."""

    path: str
    action: str
    number: str | None
    reason_code: str | None
    reason_text: str | None


@dataclass(frozen=True)
class Detail:
    """An item or addItem with its FHIR path: where the authorized period, units and codes are."""

    path: str
    extension: Sequence[Extension]
    adjudication: Sequence[Any]
    product: CodeableConcept | None = None
    quantity: Quantity | None = None
    serviced: Period | None = None


def parse_pas(body: bytes) -> PayerDecision:
    response = claim_response(load_json(body))
    _check_outcome(response)
    items = [
        Detail(f"ClaimResponse.item[{i}]", item.extension or [], item.adjudication or [])
        for i, item in enumerate(response.item or [])
    ]
    added = [
        Detail(
            f"ClaimResponse.addItem[{i}]",
            item.extension or [],
            item.adjudication or [],
            item.productOrService,
            item.quantity,
            item.servicedPeriod,
        )
        for i, item in enumerate(response.addItem or [])
    ]
    reviews = [_reviews(items), _reviews(added), _header_reviews(response)]
    action = _single_action(reviews, response)
    all_reviews = [review for tier in reviews for review in tier]
    # For A6 the requested item stays in `item`; what was authorized is in `addItem`.
    authorized = added if action == "A6" and added else items + added
    details = added + items if action == "A6" else items + added
    start, end = _period(details, response)
    units, unit_type = _quantity(details)
    fields = {
        "trace_number": _trace_number(response, items),
        "action": action,
        "authorization_number": _first(r.number for r in all_reviews) or response.preAuthRef,
        "start": start,
        "end": end,
        "units": units,
        "unit_type": unit_type,
        "service_codes": _service_codes(authorized),
        "reason_code": _first(r.reason_code for r in all_reviews),
        "reason": _reason(response, all_reviews),
        "reference": _reference(items + added),
        "decided_at": _created(response),
    }
    return build_decision(fields, SOURCES)


def claim_response(document: object) -> ClaimResponse:
    """The ClaimResponse, alone or first in a PAS response Bundle, validated as FHIR R4B."""
    if not isinstance(document, dict):
        raise UnparseableDecision("body must be a JSON object")
    kind = document.get("resourceType")
    if kind == "Bundle":
        entries = document.get("entry")
        if not isinstance(entries, list):
            raise UnparseableDecision("Bundle.entry must be an array")
        first = entries[0] if entries else None
        resource = first.get("resource") if isinstance(first, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "ClaimResponse":
            raise UnparseableDecision("the Bundle's first entry must be a ClaimResponse resource")
        return _validated(resource, "Bundle.entry[0].resource")
    if kind == "ClaimResponse":
        return _validated(document, "ClaimResponse")
    raise UnparseableDecision(
        f"expected a ClaimResponse or a Bundle whose first entry is one, got resourceType {kind!r}"
    )


def _validated(resource: dict[str, Any], where: str) -> ClaimResponse:
    document = resource if "created" in resource else {**resource, "created": NO_CREATED}
    try:
        return ClaimResponse.model_validate(document)
    except ValidationError as err:
        problems = [_problem(e) for e in err.errors()[:MAX_ERRORS]]
        more = len(err.errors()) - len(problems)
        tail = f" (and {more} more)" if more > 0 else ""
        raise UnparseableDecision(
            f"not a valid FHIR R4 ClaimResponse ({where}): {'; '.join(problems)}{tail}"
        ) from None
    except (TypeError, ValueError, RecursionError) as err:
        raise UnparseableDecision(f"not a valid FHIR R4 ClaimResponse ({where}): {err}") from None


def _problem(error: Any) -> str:
    path = "ClaimResponse"
    for step in error.get("loc", ()):
        path += f"[{step}]" if isinstance(step, int) else f".{step}"
    value = error.get("input")
    shown = f" {value!r}" if isinstance(value, str | int | float) and len(repr(value)) < 60 else ""
    return f"{path}{shown}: {error.get('msg', 'invalid')}"


def _check_outcome(response: ClaimResponse) -> None:
    outcome = response.outcome
    if outcome is not None and outcome not in OUTCOMES:
        raise UnparseableDecision(
            f"ClaimResponse.outcome {outcome!r} is not one of {', '.join(OUTCOMES)}"
        )


def _matching(extensions: Iterable[Extension] | None, url_suffix: str) -> Iterator[Extension]:
    """Extensions whose url is `url_suffix` or ends with '/' or '-' plus it."""
    for ext in extensions or []:
        url = ext.url or ""
        if url == url_suffix or url.endswith(("/" + url_suffix, "-" + url_suffix)):
            yield ext


def _one(extensions: Iterable[Extension] | None, url_suffix: str) -> Extension | None:
    return next(_matching(extensions, url_suffix), None)


def _reviews(details: list[Detail]) -> list[Review]:
    found: list[Review] = []
    for detail in details:
        for n, adjudication in enumerate(detail.adjudication):
            path = f"{detail.path}.adjudication[{n}]"
            found.extend(
                _review(ext, path) for ext in _matching(adjudication.extension, "reviewAction")
            )
    return found


def _header_reviews(response: ClaimResponse) -> list[Review]:
    found: list[Review] = []
    for n, adjudication in enumerate(response.adjudication or []):
        path = f"ClaimResponse.adjudication[{n}]"
        found.extend(
            _review(ext, path) for ext in _matching(adjudication.extension, "reviewAction")
        )
    return found


def _review(ext: Extension, path: str) -> Review:
    where = f"{path}.extension[reviewAction]"
    code_ext = _one(ext.extension, "reviewActionCode") or _one(ext.extension, "code")
    if code_ext is None:
        raise UnparseableDecision(f"{where} has no reviewActionCode sub-extension")
    action = _first(_action_codes(code_ext.valueCodeableConcept))
    if action is None:
        raise UnparseableDecision(
            f"{where}.extension[reviewActionCode].valueCodeableConcept has no coding from "
            f"https://{ACTION_SYSTEM_SUFFIX}"
        )
    number_ext = _one(ext.extension, "number")
    reason_ext = _one(ext.extension, "reasonCode")
    reason = reason_ext.valueCodeableConcept if reason_ext else None
    return Review(
        path=where,
        action=action,
        number=number_ext.valueString if number_ext else None,
        reason_code=_first(_codes(reason)),
        reason_text=reason.text if reason else None,
    )


def _action_codes(concept: CodeableConcept | None) -> list[str]:
    if concept is None:
        return []
    return [
        c.code
        for c in concept.coding or []
        if c.code and (c.system is None or c.system.endswith(ACTION_SYSTEM_SUFFIX))
    ]


def _codes(concept: CodeableConcept | None, skip_systems: tuple[str, ...] = ()) -> list[str]:
    """The codes of a CodeableConcept's codings, in order, leaving out `skip_systems`."""
    if concept is None:
        return []
    found = []
    for coding in concept.coding or []:
        if coding.code and not (coding.system or "").endswith(skip_systems):
            found.append(coding.code)
    return found


def _single_action(tiers: list[list[Review]], response: ClaimResponse) -> ReviewAction:
    reviews = next((tier for tier in tiers if tier), [])
    if not reviews:
        raise UnparseableDecision(_no_review_detail(response))
    actions = sorted({review.action for review in reviews})
    if len(actions) > 1:
        raise UnparseableDecision(
            f"the items carry different review actions ({', '.join(actions)}); "
            "stepdown needs one decision per response"
        )
    action = actions[0]
    allowed = get_args(ReviewAction)
    if action not in allowed:
        raise UnparseableDecision(
            f"{reviews[0].path}: unknown review action code {action!r} "
            f"(expected one of {', '.join(allowed)})"
        )
    return cast(ReviewAction, action)


def _no_review_detail(response: ClaimResponse) -> str:
    if response.outcome == "error":
        errors = [code for e in response.error or [] for code in _codes(e.code)]
        listed = ", ".join(errors) or "none given"
        return (
            f"ClaimResponse.outcome is 'error' (payer error codes: {listed}) "
            "and no item carries a review decision"
        )
    return (
        "no review decision: expected item.adjudication.extension[reviewAction] "
        "with a reviewActionCode"
    )


def _trace_number(response: ClaimResponse, items: list[Detail]) -> str:
    for identifier in response.identifier or []:
        if identifier.value:
            return str(identifier.value)
    for item in items:
        for ext in _matching(item.extension, "itemTraceNumber"):
            if ext.valueIdentifier is not None and ext.valueIdentifier.value:
                return str(ext.valueIdentifier.value)
    raise UnparseableDecision(
        "no trace number: set ClaimResponse.identifier[0].value (or "
        "item.extension[itemTraceNumber]) to the trace number stepdown sent"
    )


def _period(details: list[Detail], response: ClaimResponse) -> tuple[date | None, date | None]:
    periods: list[Period | None] = []
    for detail in details:
        ext = _one(detail.extension, "itemPreAuthPeriod")
        periods.append(ext.valuePeriod if ext else None)
    periods += [detail.serviced for detail in details]
    periods.append(response.preAuthPeriod)
    period = next((p for p in periods if p is not None), None)
    if period is None:
        return None, None
    return _day(period.start), _day(period.end)


def _day(value: date | datetime | str | None) -> date | None:
    if value is None or isinstance(value, str):
        # A partial date (a year or a month) names no day an authorization could end on.
        if value is not None:
            raise UnparseableDecision(f"period date {value!r} is not a full date (YYYY-MM-DD)")
        return None
    return value.date() if isinstance(value, datetime) else value


def _quantity(details: list[Detail]) -> tuple[object, UnitType | None]:
    for detail in details:
        authorized = _one(detail.extension, "itemAuthorizedDetail")
        sub = _one(authorized.extension, "quantity") if authorized else None
        quantity = sub.valueQuantity if sub else detail.quantity
        if quantity is not None:
            return _quantity_value(quantity, detail.path), _unit_type(quantity, detail.path)
    return None, None


def _quantity_value(quantity: Quantity, path: str) -> object:
    value = quantity.value
    if value is None:
        return None
    number = Decimal(str(value))
    if number != number.to_integral_value():
        raise UnparseableDecision(f"{path} quantity value {number} must be a whole number")
    return int(number)


def _unit_type(quantity: Quantity, path: str) -> UnitType | None:
    code, system, unit = quantity.code, quantity.system, quantity.unit
    # PAS 2.2 binds Quantity.code to the X12 673 quantity qualifiers (HSD01).
    if code is not None and system in (None, QUANTITY_SYSTEM):
        if code in QUANTITY_QUALIFIERS:
            return QUANTITY_QUALIFIERS[code]
        raise UnparseableDecision(
            f"{path} quantity code {code!r} is not a supported quantity qualifier "
            f"(use {', '.join(QUANTITY_QUALIFIERS)} from {QUANTITY_SYSTEM})"
        )
    for word in (code, unit):
        if word is not None and word.strip().strip("{}").lower() in UNIT_WORDS:
            return UNIT_WORDS[word.strip().strip("{}").lower()]
    if code is None and unit is None:
        return None
    raise UnparseableDecision(
        f"{path} quantity unit {unit or code!r} is not days, sessions, hours or units_15min; "
        f"send code {'/'.join(QUANTITY_QUALIFIERS)} with system {QUANTITY_SYSTEM}"
    )


def _service_codes(details: list[Detail]) -> tuple[str, ...]:
    found: list[str] = []
    for detail in details:
        found += _codes(detail.product, NOT_PROCEDURES)
        authorized = _one(detail.extension, "itemAuthorizedDetail")
        for key in ("productOrServiceCode", "revenue"):
            sub = _one(authorized.extension, key) if authorized else None
            found += _codes(sub.valueCodeableConcept if sub else None, NOT_PROCEDURES)
    return tuple(dict.fromkeys(found))


def _reason(response: ClaimResponse, reviews: list[Review]) -> str | None:
    notes = (note.text for note in response.processNote or [])
    return response.disposition or _first(r.reason_text for r in reviews) or _first(notes)


def _created(response: ClaimResponse) -> datetime | None:
    created = response.created
    if created is None or created == datetime.fromisoformat(NO_CREATED):
        return None
    if isinstance(created, datetime):
        return created
    if isinstance(created, date):
        return datetime(created.year, created.month, created.day, tzinfo=UTC)
    raise UnparseableDecision(f"ClaimResponse.created {created!r} is not a full date-time")


def _reference(details: list[Detail]) -> str | None:
    return _first(_ext_string(d.extension, "administrationReferenceNumber") for d in details)


def _ext_string(extensions: Sequence[Extension], url_suffix: str) -> str | None:
    ext = _one(extensions, url_suffix)
    return ext.valueString if ext else None


def _first(values: Iterable[str | None]) -> str | None:
    return next((value for value in values if value), None)
