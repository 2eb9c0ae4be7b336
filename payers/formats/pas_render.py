"""Render a PayerDecision as a Da Vinci PAS 2.2.1 ClaimResponse, for simulators and tests."""

from __future__ import annotations

import json
from typing import Any

from domain.model import PayerDecision
from payers.formats.common import QUALIFIER_FOR_UNIT, is_revenue_code
from payers.formats.fhir import PAS_BASE
from payers.formats.pas import ABSENT_SYSTEM, QUANTITY_SYSTEM

Json = dict[str, Any]
PROFILE = PAS_BASE + "profile-claimresponse"
TRACE_SYSTEM = "urn:trnorg:9STEPDOWN0"
ACTION_SYSTEM = "https://codesystem.x12.org/005010/306"
REASON_SYSTEM = "https://codesystem.x12.org/external/886"
HCPCS_SYSTEM = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
REVENUE_SYSTEM = "https://www.nubc.org/CodeSystem/RevenueCodes"
ACTION_DISPLAY = {
    "A1": "Certified in total", "A2": "Certified - partial", "A3": "Not Certified",
    "A4": "Pended", "A6": "Modified", "C": "Cancelled", "CT": "Contact Payer",
    "NA": "No Action Required",
}  # fmt: skip


def pas_body(decision: PayerDecision, *, bundle: bool = False) -> bytes:
    """A ClaimResponse, or with `bundle` the PAS response Bundle that carries it first."""
    resource = claim_response(decision)
    if bundle:
        resource = {
            "resourceType": "Bundle",
            "meta": {"profile": [PAS_BASE + "profile-pas-response-bundle"]},
            "type": "collection",
            "entry": [{"fullUrl": "urn:uuid:claim-response", "resource": resource}],
        }
    return json.dumps(resource, indent=2, ensure_ascii=False).encode("utf-8")


def claim_response(d: PayerDecision) -> Json:
    trace = {"system": TRACE_SYSTEM, "value": d.trace_number}
    resource: Json = {
        "resourceType": "ClaimResponse",
        "meta": {"profile": [PROFILE]},
        "identifier": [trace],
        "status": "active",
        "type": _concept("http://terminology.hl7.org/CodeSystem/claim-type", "institutional"),
        "use": "preauthorization",
        "patient": {"reference": "Patient/member"},
        "insurer": {"reference": "Organization/payer"},
        "requestor": {"reference": "Organization/provider"},
        "request": {"identifier": trace},
        # Pended (A4) is a review action, not an outcome: the review itself completed.
        "outcome": "complete",
    }
    if d.decided_at:
        resource["created"] = d.decided_at.isoformat()
    if d.reason:
        resource["disposition"] = d.reason
    if d.action == "A6":
        resource["item"] = [_item(d, 1, None, with_details=False)]
        resource["addItem"] = _added_items(d)
    else:
        lines = d.service_codes or (None,)
        resource["item"] = [_item(d, n, code) for n, code in enumerate(lines, start=1)]
    return resource


def _item(d: PayerDecision, sequence: int, code: str | None, with_details: bool = True) -> Json:
    extensions = []
    if d.reference:
        extensions.append(_ext("administrationReferenceNumber", valueString=d.reference))
    if with_details and (d.start or d.end):
        extensions.append(_ext("itemPreAuthPeriod", valuePeriod=_period(d)))
    detail = _authorized_detail(d, code) if with_details else []
    if detail:
        extensions.append({"url": PAS_BASE + "extension-itemAuthorizedDetail", "extension": detail})
    item: Json = {"itemSequence": sequence, "adjudication": [_adjudication(d)]}
    if extensions:
        item["extension"] = extensions
    return item


def _added_items(d: PayerDecision) -> list[Json]:
    # For A6 what was authorized goes in addItem; productOrService is required there.
    added = []
    for code in d.service_codes or (None,):
        # FHIR R4 requires an adjudication on every addItem: it repeats the review.
        item: Json = {
            "itemSequence": [1],
            "productOrService": _service(code),
            "adjudication": [_adjudication(d)],
        }
        if d.start or d.end:
            item["extension"] = [_ext("itemPreAuthPeriod", valuePeriod=_period(d))]
        if d.units is not None or d.unit_type:
            item["quantity"] = _quantity(d)
        added.append(item)
    return added


def _authorized_detail(d: PayerDecision, code: str | None) -> list[Json]:
    detail = []
    if code is not None:
        key = "revenue" if is_revenue_code(code) else "productOrServiceCode"
        detail.append({"url": key, "valueCodeableConcept": _service(code)})
    if d.units is not None or d.unit_type:
        detail.append({"url": "quantity", "valueQuantity": _quantity(d)})
    return detail


def _adjudication(d: PayerDecision) -> Json:
    review = [
        _ext(
            "reviewActionCode",
            valueCodeableConcept=_concept(ACTION_SYSTEM, d.action, ACTION_DISPLAY[d.action]),
        )
    ]
    if d.authorization_number:
        review.append({"url": "number", "valueString": d.authorization_number})
    if d.reason_code:
        review.append(
            {"url": "reasonCode", "valueCodeableConcept": _concept(REASON_SYSTEM, d.reason_code)}
        )
    return {
        "category": _concept("http://terminology.hl7.org/CodeSystem/adjudication", "submitted"),
        "extension": [{"url": PAS_BASE + "extension-reviewAction", "extension": review}],
    }


def _quantity(d: PayerDecision) -> Json:
    quantity: Json = {} if d.units is None else {"value": d.units}
    if d.unit_type:
        quantity |= {
            "unit": d.unit_type,
            "system": QUANTITY_SYSTEM,
            "code": QUALIFIER_FOR_UNIT[d.unit_type],
        }
    return quantity


def _period(d: PayerDecision) -> Json:
    period = {"start": d.start.isoformat()} if d.start else {}
    return period | ({"end": d.end.isoformat()} if d.end else {})


def _service(code: str | None) -> Json:
    if code is None:
        return _concept(ABSENT_SYSTEM, "not-applicable")
    return _concept(REVENUE_SYSTEM if is_revenue_code(code) else HCPCS_SYSTEM, code)


def _concept(system: str, code: str, display: str | None = None) -> Json:
    coding = {"system": system, "code": code} | ({"display": display} if display else {})
    return {"coding": [coding]}


def _ext(name: str, **value: Any) -> Json:
    return {"url": PAS_BASE + "extension-" + name, **value}
