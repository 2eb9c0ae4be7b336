"""The payer simulator's Da Vinci PAS side: a SMART token endpoint that verifies our client
assertion, `Claim/$submit` answering at once with a ClaimResponse, and `Claim/$inquire`."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from fhir.resources.R4B.bundle import Bundle
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from joserfc.jwt import JWTClaimsRegistry
from pydantic import ValidationError

from activities.ports import PayerRequest
from payers.formats.pas_render import pas_body
from payers.smart import ALGORITHMS, ASSERTION_TYPE

FHIR_JSON = "application/fhir+json"
TOKEN_LIFETIME = 300
X12_CERTIFICATION = "codesystem.x12.org/005010/1322"


@dataclass
class PasServerConfig:
    """Registered clients (client id → public key PEM) and how pended requests resolve."""

    clients: Mapping[str, str]
    # The token endpoint's own URL, the `aud` a client assertion must name.
    token_url: str
    # How many $inquire calls a pended request answers A4 before its final answer.
    pending_inquiries: int = 1
    token_lifetime: int = TOKEN_LIFETIME


@dataclass
class Pended:
    request: PayerRequest
    final: str
    inquiries: int = 0


@dataclass
class PasState:
    tokens: dict[str, float] = field(default_factory=dict)
    seen_jti: set[str] = field(default_factory=set)
    pended: dict[str, Pended] = field(default_factory=dict)
    submitted: list[str] = field(default_factory=list)


def operation_outcome(status: int, code: str, text: str) -> JSONResponse:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return JSONResponse(body, status, media_type=FHIR_JSON)


def oauth_error(error: str, text: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": text}, status)


class AssertionRefused(Exception):
    pass


def verify_assertion(
    assertion: str, config: PasServerConfig, state: PasState, now: int | None = None
) -> str:
    """The client id of a valid, fresh, never-seen assertion signed by that client's key."""
    try:
        # Read unverified only to learn whose key to verify with.
        unverified = jws.extract_compact(assertion.encode())
        client_id = str(json.loads(unverified.payload).get("iss", ""))
        pem = config.clients.get(client_id)
        if pem is None:
            raise AssertionRefused(f"unknown client {client_id!r}")
        alg = unverified.headers().get("alg")
        key = RSAKey.import_key(pem) if alg == "RS384" else ECKey.import_key(pem)
        token = jwt.decode(assertion, key, algorithms=ALGORITHMS)
        claims = JWTClaimsRegistry(
            now=now,
            leeway=30,
            iss={"essential": True, "value": client_id},
            sub={"essential": True, "value": client_id},
            aud={"essential": True, "value": config.token_url},
            exp={"essential": True},
            jti={"essential": True},
        )
        claims.validate(token.claims)
    except AssertionRefused:
        raise
    except (JoseError, ValueError, TypeError) as err:
        raise AssertionRefused(f"the client assertion does not verify: {err}") from None
    jti = str(token.claims["jti"])
    if jti in state.seen_jti:
        raise AssertionRefused("the client assertion was used before (jti)")
    state.seen_jti.add(jti)
    return client_id


def request_of(bundle: Bundle) -> PayerRequest:
    """The parts of a PAS request Bundle the simulator decides on, as a gateway request."""
    claim = bundle.entry[0].resource if bundle.entry else None
    if claim is None or claim.get_resource_type() != "Claim":
        raise ValueError("the Bundle's first entry must be the Claim")
    trace = claim.identifier[0].value if claim.identifier else None
    if not trace:
        raise ValueError("Claim.identifier[0].value (the trace number) is missing")
    codes, start, units, unit_type, purpose, current = [], None, None, None, "initial", []
    for item in claim.item or []:
        coding = (item.revenue or item.productOrService).coding[0]
        codes.append(coding.code)
        if item.servicedPeriod is not None and item.servicedPeriod.start:
            start = str(item.servicedPeriod.start)[:10]
        if item.quantity is not None:
            units = int(item.quantity.value) if item.quantity.value is not None else None
            unit_type = item.quantity.unit
        for ext in item.extension or []:
            concept = ext.valueCodeableConcept
            if ext.url.endswith("certificationType") and concept.coding[0].code == "4":
                purpose = "extension"
            if ext.url.endswith("authorizationNumber") and start:
                day_before = date.fromisoformat(start) - timedelta(days=1)
                current = [{"number": ext.valueString, "end": day_before.isoformat()}]
    key = bundle.identifier.value if bundle.identifier else trace
    requested = {"start": start, "units": units, "unit_type": unit_type, "service_codes": codes}
    payload = {"requested": requested, "units": units, "authorizations": current}
    return PayerRequest(
        episode_id="unknown", trace_number=trace, purpose=purpose,  # type: ignore[arg-type]
        payer_id="pas", idempotency_key=str(key), payload=payload,
    )  # fmt: skip


def pas_router(
    config: PasServerConfig,
    decide: Callable[[PayerRequest], str],
    build: Callable[[PayerRequest, str, datetime], Any],
    clock: Callable[[], float] = time.time,
) -> tuple[APIRouter, PasState]:
    """Routes under `/fhir`; `decide` picks the X12 306 action of a request, `build` its answer."""
    router = APIRouter(prefix="/fhir")
    state = PasState()

    @router.post("/auth/token")
    async def token(request: Request) -> JSONResponse:
        # application/x-www-form-urlencoded (RFC 6749 §4.4), read without a multipart parser.
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant, kind = form.get("grant_type"), form.get("client_assertion_type")
        if grant != "client_credentials" or kind != ASSERTION_TYPE:
            return oauth_error("unsupported_grant_type", "client_credentials with a JWT assertion")
        try:
            verify_assertion(form.get("client_assertion", ""), config, state, int(clock()))
        except AssertionRefused as err:
            return oauth_error("invalid_client", str(err), 401)
        value = uuid.uuid4().hex
        state.tokens[value] = clock() + config.token_lifetime
        body = {"access_token": value, "token_type": "bearer", "scope": form.get("scope", ""),
                "expires_in": config.token_lifetime}  # fmt: skip
        return JSONResponse(body)

    def authorized(header: str | None) -> bool:
        scheme, _, value = (header or "").partition(" ")
        expiry = state.tokens.get(value.strip())
        return scheme.lower() == "bearer" and expiry is not None and clock() < expiry

    async def bundle_of(request: Request) -> Bundle | JSONResponse:
        try:
            return Bundle.model_validate_json(await request.body())
        except ValidationError as err:
            return operation_outcome(400, "structure", f"not a valid FHIR Bundle: {err}")

    def answer(req: PayerRequest, action: str) -> JSONResponse:
        decision = build(req, action, datetime.now(UTC))
        content = json.loads(pas_body(decision, bundle=True))
        return JSONResponse(content, media_type=FHIR_JSON)

    async def checked_request(
        request: Request, authorization: str | None
    ) -> PayerRequest | JSONResponse:
        """The request a $submit or $inquire Bundle carries, or the OperationOutcome refusing it."""
        if not authorized(authorization):
            return operation_outcome(401, "login", "a valid bearer token is required")
        bundle = await bundle_of(request)
        if isinstance(bundle, JSONResponse):
            return bundle
        try:
            return request_of(bundle)
        except ValueError as err:
            return operation_outcome(400, "required", str(err))

    @router.post("/Claim/$submit")
    async def submit(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        req = await checked_request(request, authorization)
        if isinstance(req, JSONResponse):
            return req
        state.submitted.append(req.trace_number)
        action = decide(req)
        if action in ("A4", "none"):
            # "none" is a payer that never decides: it stays pended through every inquiry.
            state.pended[req.trace_number] = Pended(req, "A4" if action == "none" else "A1")
            return answer(req, "A4")
        return answer(req, action)

    @router.post("/Claim/$inquire")
    async def inquire(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        req = await checked_request(request, authorization)
        if isinstance(req, JSONResponse):
            return req
        pended = state.pended.get(req.trace_number)
        if pended is None:
            text = f"no pended request with trace number {req.trace_number}"
            return operation_outcome(404, "not-found", text)
        pended.inquiries += 1
        if pended.inquiries <= config.pending_inquiries:
            return answer(pended.request, "A4")
        return answer(pended.request, pended.final)

    return router, state
