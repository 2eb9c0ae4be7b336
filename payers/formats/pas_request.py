"""The Da Vinci PAS 2.2.1 request Bundle for `Claim/$submit` and `Claim/$inquire`, built as JSON
and checked by the fhir.resources R4B models before it leaves (DOMAIN.md §8)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from activities.ports import PayerRequest
from payers.formats.attendance_evidence import pas_facts
from payers.formats.common import QUALIFIER_FOR_UNIT, is_revenue_code
from payers.formats.fhir import PAS_BASE
from payers.formats.pas import ABSENT_SYSTEM, QUANTITY_SYSTEM
from payers.formats.pas_render import HCPCS_SYSTEM, REVENUE_SYSTEM, TRACE_SYSTEM

Json = dict[str, Any]
X12 = "https://codesystem.x12.org/005010/"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
MEMBER_SYSTEM = "urn:stepdown:member-id"
PAYER_SYSTEM = "urn:stepdown:payer-id"
SUBMISSION_SYSTEM = "urn:stepdown:submission"
# Our own code systems for the ASAM Criteria facts (the Criteria publish no FHIR code system).
ASAM_LEVEL_SYSTEM = "urn:stepdown:asam:level"
ASAM_DIMENSION_SYSTEM = "urn:stepdown:asam:dimension"
INFO_CATEGORY = "http://terminology.hl7.org/CodeSystem/claiminformationcategory"
# X12 1322 certification type: I initial, 4 extension; X12 1525 request type HS health services.
CERTIFICATION = {"initial": "I", "reversal": "I", "extension": "4", "p2p": "I"}


@dataclass(frozen=True)
class Provider:
    """The requesting organization and, when configured, the rendering practitioner."""

    name: str
    npi: str
    rendering_name: str | None = None
    rendering_npi: str | None = None


class IncompleteRequest(ValueError):
    """The episode's payload lacks what a PAS request needs."""


@dataclass(frozen=True)
class Document:
    """An attachment that goes with the request: a PAS DocumentReference with its bytes."""

    id: int
    filename: str
    content_type: str
    data: bytes
    at: datetime


# PAS Claim.supportingInfo:AdditionalInformation, "most commonly a DocumentReference".
PAS_INFO_TYPE = PAS_BASE.replace("StructureDefinition/", "") + "CodeSystem/PASSupportingInfoType"
DOCUMENT_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
LOINC = "http://loinc.org"


def submit_bundle(
    request: PayerRequest,
    provider: Provider,
    insurer: str,
    now: datetime,
    documents: Sequence[Document] = (),
) -> Bundle:
    """The `$submit` Bundle: the Claim first, then every resource it references; each of
    `documents` a DocumentReference (content inline, as PAS requires) the Claim's
    supportingInfo names."""
    return _bundle(request, provider, insurer, now, "profile-pas-request-bundle", documents)


def inquiry_bundle(
    request: PayerRequest, provider: Provider, insurer: str, now: datetime
) -> Bundle:
    """The `$inquire` Bundle: the same Claim, identifying the original request by trace number."""
    return _bundle(request, provider, insurer, now, "profile-pas-inquiry-request-bundle")


def _bundle(
    request: PayerRequest,
    provider: Provider,
    insurer: str,
    now: datetime,
    profile: str,
    documents: Sequence[Document] = (),
) -> Bundle:
    claim = _claim(request, provider, now)
    first = len(claim["supportingInfo"]) + 1
    claim["supportingInfo"] += [
        {
            "sequence": n,
            "category": _concept(PAS_INFO_TYPE, "additionalInformation"),
            "valueReference": {"reference": f"DocumentReference/document-{d.id}"},
        }
        for n, d in enumerate(documents, start=first)
    ]
    resources = [
        claim,
        _patient(request.payload),
        _coverage(request.payload),
        _organization("requester", provider.name, NPI_SYSTEM, provider.npi),
        _organization("insurer", insurer, PAYER_SYSTEM, request.payer_id),
    ]
    if provider.rendering_npi:
        resources.append(_practitioner(provider))
    resources += [_document_reference(d) for d in documents]
    document = {
        "resourceType": "Bundle",
        "meta": {"profile": [PAS_BASE + profile]},
        "identifier": {"system": SUBMISSION_SYSTEM, "value": request.idempotency_key},
        "type": "collection",
        "timestamp": now.isoformat(),
        "entry": [
            {"fullUrl": f"urn:uuid:{request.episode_id}-{r['id']}", "resource": r}
            for r in resources
        ],
    }
    return Bundle.model_validate(document)


def _claim(request: PayerRequest, provider: Provider, now: datetime) -> Json:
    payload = request.payload
    diagnoses = payload.get("diagnoses") or []
    claim: Json = {
        "resourceType": "Claim",
        "id": "claim",
        "meta": {"profile": [PAS_BASE + "profile-claim"]},
        "identifier": [{"system": TRACE_SYSTEM, "value": request.trace_number}],
        "status": "active",
        "type": _concept("http://terminology.hl7.org/CodeSystem/claim-type", "institutional"),
        "use": "preauthorization",
        "patient": {"reference": "Patient/patient"},
        "created": now.isoformat(),
        "insurer": {"reference": "Organization/insurer"},
        "provider": {"reference": "Organization/requester"},
        "priority": _concept(
            "http://terminology.hl7.org/CodeSystem/processpriority",
            "stat" if payload.get("urgency") == "expedited" else "normal",
        ),
        "insurance": [
            {"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/coverage"}}
        ],
        "diagnosis": [
            {"sequence": n, "diagnosisCodeableConcept": _concept(ICD10_SYSTEM, code)}
            for n, code in enumerate(diagnoses, start=1)
        ],
        "supportingInfo": _asam(payload),
        "item": _items(request, len(diagnoses), bool(provider.rendering_npi)),
    }
    if payload.get("urgency") == "expedited":
        claim["extension"] = [_ext("levelOfServiceType", _concept(X12 + "1338", "U", "Urgent"))]
    if provider.rendering_npi:
        claim["careTeam"] = [{"sequence": 1, "provider": {"reference": "Practitioner/rendering"}}]
    return claim


def _asam(payload: Json) -> list[Json]:
    """The levels of care and the six dimension ratings, as supporting information."""
    edition = payload.get("asam_edition")
    facts: list[Json] = []
    for role, level in (
        ("requested", payload.get("to_level")),
        ("current", payload.get("from_level")),
    ):
        if level:
            code = _concept(ASAM_LEVEL_SYSTEM, str(level), f"ASAM level {level} ({role})")
            facts.append({"code": code, "valueString": f"{role}; ASAM Criteria edition {edition}"})
    for dimension, rating in sorted((payload.get("dimensions") or {}).items()):
        code = _concept(ASAM_DIMENSION_SYSTEM, str(dimension), f"ASAM dimension {dimension}")
        facts.append({"code": code, "valueQuantity": {"value": rating, "unit": "risk rating"}})
    # §5: an extension request also carries the attendance evidence (issue 12).
    facts += pas_facts(payload.get("attendance_summary"))
    return [
        {"sequence": n, "category": _concept(INFO_CATEGORY, "info")} | fact
        for n, fact in enumerate(facts, start=1)
    ]


def _items(request: PayerRequest, diagnoses: int, care_team: bool) -> list[Json]:
    requested = request.payload.get("requested") or {}
    codes = requested.get("service_codes") or []
    if not codes:
        raise IncompleteRequest("the request names no service codes (requested.service_codes)")
    units = request.payload.get("units") or requested.get("units")
    start = _start(request)
    items = []
    for n, code in enumerate(codes, start=1):
        item: Json = {
            "sequence": n,
            "extension": [
                _ext("itemTraceNumber", value=("valueIdentifier", {
                    "system": TRACE_SYSTEM, "value": f"{request.trace_number}-L{n}"})),
                _ext("certificationType", _concept(X12 + "1322", CERTIFICATION[request.purpose])),
                _ext("requestType", _concept(X12 + "1525", "HS", "Health Services Review")),
            ],
            "productOrService": _service(code),
            "servicedPeriod": _period(start, units, requested.get("unit_type")),
        }  # fmt: skip
        if request.purpose == "extension":
            current = _current_authorization(request.payload)
            if current:
                item["extension"].append(
                    _ext("authorizationNumber", value=("valueString", current))
                )
        if is_revenue_code(code):
            item["revenue"] = _concept(REVENUE_SYSTEM, code)
        if units:
            item["quantity"] = _quantity(units, requested.get("unit_type"))
        if diagnoses:
            item["diagnosisSequence"] = list(range(1, diagnoses + 1))
        if care_team:
            item["careTeamSequence"] = [1]
        items.append(item)
    return items


def _start(request: PayerRequest) -> date | None:
    """An extension starts the day after the current authorization ends (DOMAIN.md §5)."""
    requested = request.payload.get("requested") or {}
    ends = [a["end"] for a in request.payload.get("authorizations") or [] if a.get("end")]
    if request.purpose == "extension" and ends:
        return date.fromisoformat(max(ends)) + timedelta(days=1)
    return date.fromisoformat(requested["start"]) if requested.get("start") else None


def _current_authorization(payload: Json) -> str | None:
    authorizations = payload.get("authorizations") or []
    if not authorizations:
        return None
    number: str = max(authorizations, key=lambda a: a["end"])["number"]
    return number


def _period(start: date | None, units: int | None, unit_type: str | None) -> Json:
    if start is None:
        raise IncompleteRequest("the request has no start date (requested.start)")
    period = {"start": start.isoformat()}
    if unit_type == "days" and units:
        period["end"] = (start + timedelta(days=units - 1)).isoformat()
    return period


def _patient(payload: Json) -> Json:
    member_id = payload.get("member_id")
    if not member_id:
        raise IncompleteRequest("the request has no member id (patient.member_id)")
    patient: Json = {
        "resourceType": "Patient",
        "id": "patient",
        "meta": {"profile": [PAS_BASE + "profile-subscriber"]},
        "identifier": [{"system": MEMBER_SYSTEM, "value": member_id}],
    }
    person = payload.get("patient") or {}
    if person.get("name"):
        *given, family = str(person["name"]).split()
        patient["name"] = [{"family": family} | ({"given": given} if given else {})]
    if person.get("birth_date"):
        patient["birthDate"] = person["birth_date"]
    return patient


def _coverage(payload: Json) -> Json:
    return {
        "resourceType": "Coverage",
        "id": "coverage",
        "meta": {"profile": [PAS_BASE + "profile-coverage"]},
        "status": "active",
        "subscriberId": payload["member_id"],
        "beneficiary": {"reference": "Patient/patient"},
        "relationship": _concept(
            "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self"
        ),
        "payor": [{"reference": "Organization/insurer"}],
    }


def _organization(resource_id: str, name: str, system: str, value: str) -> Json:
    profile = "profile-requestor" if resource_id == "requester" else "profile-insurer"
    kind = "X3" if resource_id == "requester" else "PR"  # X12 98: utilization reviewer / payer
    return {
        "resourceType": "Organization",
        "id": resource_id,
        "meta": {"profile": [PAS_BASE + profile]},
        "active": True,
        "type": [_concept(X12 + "98", kind)],
        "name": name,
        "identifier": [{"system": system, "value": value}],
    }


def _practitioner(provider: Provider) -> Json:
    practitioner: Json = {
        "resourceType": "Practitioner",
        "id": "rendering",
        "meta": {"profile": [PAS_BASE + "profile-practitioner"]},
        "identifier": [{"system": NPI_SYSTEM, "value": provider.rendering_npi}],
    }
    if provider.rendering_name:
        *given, family = provider.rendering_name.split()
        practitioner["name"] = [{"family": family} | ({"given": given} if given else {})]
    return practitioner


def _document_reference(document: Document) -> Json:
    return {
        "resourceType": "DocumentReference",
        "id": f"document-{document.id}",
        "meta": {"profile": [PAS_BASE + "profile-documentreference"]},
        "status": "current",
        "type": _concept(LOINC, "55107-7", "Addendum Document"),
        "category": [_concept(DOCUMENT_CATEGORY, "clinical-note", "Clinical Note")],
        "subject": {"reference": "Patient/patient"},
        "date": document.at.isoformat(),
        "content": [
            {
                "attachment": {
                    "contentType": document.content_type,
                    "data": base64.b64encode(document.data).decode(),
                    "title": document.filename,
                    "size": len(document.data),
                }
            }
        ],
    }


def _service(code: str) -> Json:
    # A revenue code line carries the code in Claim.item.revenue; productOrService is required.
    if is_revenue_code(code):
        return _concept(ABSENT_SYSTEM, "not-applicable")
    return _concept(HCPCS_SYSTEM, code)


def _quantity(units: int, unit_type: str | None) -> Json:
    quantity: Json = {"value": units}
    if unit_type in QUALIFIER_FOR_UNIT:
        quantity |= {"system": QUANTITY_SYSTEM, "code": QUALIFIER_FOR_UNIT[unit_type]}  # type: ignore[index]
        quantity["unit"] = unit_type
    return quantity


def _concept(system: str, code: str, display: str | None = None) -> Json:
    coding = {"system": system, "code": code} | ({"display": display} if display else {})
    return {"coding": [coding]}


def _ext(name: str, concept: Json | None = None, *, value: tuple[str, Any] | None = None) -> Json:
    key, content = value if value else ("valueCodeableConcept", concept)
    return {"url": PAS_BASE + "extension-" + name, key: content}


def bundle_json(bundle: Bundle) -> str:
    """The Bundle as FHIR JSON, exactly the bytes the submissions log keeps and the payer gets."""
    return bundle.model_dump_json(by_alias=True, exclude_none=True)
