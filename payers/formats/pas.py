"""Da Vinci PAS 2.2.1 ClaimResponse (application/fhir+json) parsed into a PayerDecision."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast, get_args

from domain.model import PayerDecision, ReviewAction, UnitType
from payers.formats.common import (
    QUANTITY_QUALIFIERS,
    build_decision,
    fhir_date,
    fhir_datetime,
    load_json,
)
from payers.formats.errors import UnparseableDecision
from payers.formats.fhir import Node, as_node, codes

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


@dataclass(frozen=True)
class Review:
    """One reviewAction extension: the X12 HCR segment carried in FHIR."""

    path: str
    action: str
    number: str | None
    reason_code: str | None
    reason_text: str | None


def parse_pas(body: bytes) -> PayerDecision:
    response = claim_response(load_json(body))
    _check_outcome(response)
    items, added = response.children("item"), response.children("addItem")
    reviews = [_reviews(items), _reviews(added), _reviews([response])]
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
        "authorization_number": _first(r.number for r in all_reviews)
        or response.text("preAuthRef"),
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


def claim_response(document: object) -> Node:
    root = as_node(document, "body")
    kind = root.text("resourceType")
    if kind == "ClaimResponse":
        return Node(root.data, "ClaimResponse")
    if kind == "Bundle":
        entries = root.children("entry")
        resource = entries[0].child("resource") if entries else None
        if resource is not None and resource.text("resourceType") == "ClaimResponse":
            return Node(resource.data, "ClaimResponse")
        raise UnparseableDecision("the Bundle's first entry must be a ClaimResponse resource")
    raise UnparseableDecision(
        f"expected a ClaimResponse or a Bundle whose first entry is one, got resourceType {kind!r}"
    )


def _check_outcome(response: Node) -> None:
    outcome = response.text("outcome")
    if outcome is not None and outcome not in OUTCOMES:
        raise UnparseableDecision(
            f"ClaimResponse.outcome {outcome!r} is not one of {', '.join(OUTCOMES)}"
        )


def _reviews(holders: Iterable[Node]) -> list[Review]:
    found: list[Review] = []
    for holder in holders:
        for adjudication in holder.children("adjudication"):
            found.extend(_review(ext) for ext in adjudication.extensions("reviewAction"))
    return found


def _review(ext: Node) -> Review:
    code_ext = ext.extension("reviewActionCode") or ext.extension("code")
    if code_ext is None:
        raise UnparseableDecision(f"{ext.path} has no reviewActionCode sub-extension")
    concept = code_ext.child("valueCodeableConcept")
    action = _first(_action_codes(concept))
    if action is None:
        raise UnparseableDecision(
            f"{code_ext.path}.valueCodeableConcept has no coding from "
            f"https://{ACTION_SYSTEM_SUFFIX}"
        )
    number_ext = ext.extension("number")
    reason_ext = ext.extension("reasonCode")
    reason_concept = reason_ext.child("valueCodeableConcept") if reason_ext else None
    return Review(
        path=code_ext.path,
        action=action,
        number=number_ext.text("valueString") if number_ext else None,
        reason_code=_first(codes(reason_concept)),
        reason_text=reason_concept.text("text") if reason_concept else None,
    )


def _action_codes(concept: Node | None) -> list[str]:
    if concept is None:
        return []
    found = []
    for coding in concept.children("coding"):
        system = coding.text("system")
        code = coding.text("code")
        if code and (system is None or system.endswith(ACTION_SYSTEM_SUFFIX)):
            found.append(code)
    return found


def _single_action(tiers: list[list[Review]], response: Node) -> ReviewAction:
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


def _no_review_detail(response: Node) -> str:
    if response.text("outcome") == "error":
        errors = [code for e in response.children("error") for code in codes(e.child("code"))]
        listed = ", ".join(errors) or "none given"
        return (
            f"ClaimResponse.outcome is 'error' (payer error codes: {listed}) "
            "and no item carries a review decision"
        )
    return (
        "no review decision: expected item.adjudication.extension[reviewAction] "
        "with a reviewActionCode"
    )


def _trace_number(response: Node, items: list[Node]) -> str:
    for identifier in response.children("identifier"):
        if value := identifier.text("value"):
            return value
    for item in items:
        for ext in item.extensions("itemTraceNumber"):
            item_id = ext.child("valueIdentifier")
            if item_id is not None and (value := item_id.text("value")):
                return value
    raise UnparseableDecision(
        "no trace number: set ClaimResponse.identifier[0].value (or "
        "item.extension[itemTraceNumber]) to the trace number stepdown sent"
    )


def _period(details: list[Node], response: Node) -> tuple[date | None, date | None]:
    periods = [_ext_value(node, "itemPreAuthPeriod", "valuePeriod") for node in details]
    periods += [node.child("servicedPeriod") for node in details]
    periods.append(response.child("preAuthPeriod"))
    period = next((p for p in periods if p is not None), None)
    if period is None:
        return None, None
    return _period_date(period, "start"), _period_date(period, "end")


def _period_date(period: Node, key: str) -> date | None:
    text = period.text(key)
    return None if text is None else fhir_date(text, f"{period.path}.{key}")


def _quantity(details: list[Node]) -> tuple[object, UnitType | None]:
    for node in details:
        detail = node.extension("itemAuthorizedDetail")
        sub = detail.extension("quantity") if detail else None
        quantity = sub.child("valueQuantity") if sub else node.child("quantity")
        if quantity is not None:
            return _quantity_value(quantity), _unit_type(quantity)
    return None, None


def _quantity_value(quantity: Node) -> object:
    value = quantity.get("value")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnparseableDecision(f"{quantity.path}.value must be a number")
    if isinstance(value, float) and not value.is_integer():
        raise UnparseableDecision(f"{quantity.path}.value {value} must be a whole number")
    return int(value)


def _unit_type(quantity: Node) -> UnitType | None:
    code, system, unit = quantity.text("code"), quantity.text("system"), quantity.text("unit")
    # PAS 2.2 binds Quantity.code to the X12 673 quantity qualifiers (HSD01).
    if code is not None and system in (None, QUANTITY_SYSTEM):
        if code in QUANTITY_QUALIFIERS:
            return QUANTITY_QUALIFIERS[code]
        raise UnparseableDecision(
            f"{quantity.path}.code {code!r} is not a supported quantity qualifier "
            f"(use {', '.join(QUANTITY_QUALIFIERS)} from {QUANTITY_SYSTEM})"
        )
    for word in (code, unit):
        if word is not None and word.strip().strip("{}").lower() in UNIT_WORDS:
            return UNIT_WORDS[word.strip().strip("{}").lower()]
    if code is None and unit is None:
        return None
    raise UnparseableDecision(
        f"{quantity.path} unit {unit or code!r} is not days, sessions, hours or units_15min; "
        f"send code {'/'.join(QUANTITY_QUALIFIERS)} with system {QUANTITY_SYSTEM}"
    )


def _service_codes(details: list[Node]) -> tuple[str, ...]:
    found: list[str] = []
    for node in details:
        found += codes(node.child("productOrService"), NOT_PROCEDURES)
        detail = node.extension("itemAuthorizedDetail")
        for key in ("productOrServiceCode", "revenue"):
            sub = detail.extension(key) if detail else None
            found += codes(sub.child("valueCodeableConcept") if sub else None, NOT_PROCEDURES)
    return tuple(dict.fromkeys(found))


def _reference(nodes: list[Node]) -> str | None:
    return _first(_ext_text(node, "administrationReferenceNumber") for node in nodes)


def _reason(response: Node, reviews: list[Review]) -> str | None:
    notes = (note.text("text") for note in response.children("processNote"))
    return response.text("disposition") or _first(r.reason_text for r in reviews) or _first(notes)


def _created(response: Node) -> datetime | None:
    text = response.text("created")
    return None if text is None else fhir_datetime(text, "ClaimResponse.created")


def _ext_value(node: Node, url_suffix: str, key: str) -> Node | None:
    ext = node.extension(url_suffix)
    return ext.child(key) if ext else None


def _ext_text(node: Node, url_suffix: str) -> str | None:
    ext = node.extension(url_suffix)
    return ext.text("valueString") if ext else None


def _first(values: Iterable[str | None]) -> str | None:
    return next((value for value in values if value), None)
