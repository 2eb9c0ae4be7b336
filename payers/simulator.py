"""The dev stack's payer: takes gateway requests and answers later through the signed webhook.

It is also the clearinghouse on the mailbox (payers/clearinghouse.py): 278 requests in,
999s and 278 responses out.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Header, HTTPException

from activities.ports import PayerRequest
from domain.model import PayerDecision
from payers.clearinghouse import ClearinghousePeer
from payers.credentials import resolve
from payers.formats.canonical import canonical_body
from payers.formats.pas_render import pas_body
from payers.formats.x12_render import x12_body
from payers.gateways import SIM_PREFIX
from payers.mailbox import MailboxLayout, configured_mailbox
from payers.pas_server import PasServerConfig, pas_router
from payers.signature import sign
from settings import TOKEN_HASH, Settings, get_settings, hash_token

log = logging.getLogger("stepdown.simulator")

CONTENT_TYPES = {
    "json": "application/json",
    "fhir": "application/fhir+json",
    "x12": "application/edi-x12",
}
RENDERERS = {"json": canonical_body, "fhir": pas_body, "x12": x12_body}
AUTHORIZED_DAYS = 28


@dataclass
class SimulatorConfig:
    api_url: str
    secrets: Mapping[str, list[str]]
    mix: Mapping[str, float]
    formats: Mapping[str, float]
    delay: float = 4.0
    seed: int = 0
    ops_token: str | None = None
    attempts: int = 6
    backoff: float = 0.5
    p2p_overturn_rate: float = 0.6
    # Da Vinci PAS: client id -> public key PEM, and the token endpoint's own URL (`aud`).
    pas_clients: Mapping[str, str] = field(default_factory=dict)
    pas_token_url: str = "http://127.0.0.1:8100/fhir/auth/token"
    # The API's tokens (settings.api_tokens): the request listing shows member ids and
    # diagnoses, so only an admin token may read it, dev mode included.
    tokens: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> SimulatorConfig:
        ops = [t for t, role in settings.api_tokens.items() if role in ("ops", "admin")]
        sim = settings.simulator
        return cls(
            api_url=settings.public_api_url(),
            secrets=settings.webhook_secrets,
            mix=sim.mix,
            formats=sim.formats,
            delay=sim.delay_seconds,
            seed=sim.seed,
            ops_token=ops[0] if ops else None,
            pas_clients={c: resolve(ref) for c, ref in sim.pas_clients.items()},
            pas_token_url=sim.token_url(),
            tokens=settings.api_tokens,
        )

    def secret_for(self, payer_id: str) -> str:
        found = self.secrets.get(payer_id) or self.secrets.get("*") or []
        if not found:
            raise LookupError(f"no webhook secret is configured for payer {payer_id}")
        return found[0]


@dataclass
class Answer:
    """What the simulator did about one request: its plan and the webhook's fate."""

    action: str
    format: str
    delivery_id: str | None = None
    status_code: int | None = None
    attempts: int = 0
    error: str | None = None
    done: bool = False


def choose(weights: Mapping[str, float], rng: random.Random) -> str:
    names = sorted(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def rng_for(seed: int, idempotency_key: str) -> random.Random:
    """One generator per request, so the same seed gives every request the same answer."""
    return random.Random(f"{seed}:{idempotency_key}")


def plan(request: PayerRequest, config: SimulatorConfig) -> Answer:
    rng = rng_for(config.seed, request.idempotency_key)
    action = choose(config.mix, rng)
    fmt = choose(config.formats, rng)
    if request.purpose == "reversal":
        # A payer whose denial was overturned owes the authorization.
        action = "A1"
    elif request.purpose == "p2p":
        action = "overturned" if rng.random() < config.p2p_overturn_rate else "upheld"
    return Answer(action=action, format=fmt)


def pas_action(request: PayerRequest, config: SimulatorConfig) -> str:
    """The seeded answer to a PAS `$submit` (keyed like the webhook answers); "none" pends
    for good, as a payer that never decides."""
    return choose(config.mix, rng_for(config.seed, request.idempotency_key))


def build_decision(request: PayerRequest, action: str, now: datetime) -> PayerDecision:
    """A plausible payer answer to `request` for X12 306 `action`."""
    base: dict[str, Any] = {
        "trace_number": request.trace_number,
        "action": action,
        "decided_at": now,
    }
    suffix = hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:8].upper()
    if action == "A3":
        reason = "Simulated denial, documentation does not support IOP at this time."
        return PayerDecision(**base, reason_code="0F", reason=reason)
    if action == "A4":
        reason = "Simulated pend, awaiting the PHP discharge summary."
        return PayerDecision(**base, reference=f"PEND-{suffix}", reason=reason)
    return PayerDecision(**base, **_grant_fields(request, action, suffix))


def _grant_fields(request: PayerRequest, action: str, suffix: str) -> dict[str, Any]:
    payload = request.payload
    requested = payload.get("requested", {})
    # A P2P request carries no request details: the payer grants what was requested (None).
    units: int | None = payload.get("units") or requested.get("units")
    current = payload.get("authorizations") or []
    start: date | None = None
    if request.purpose == "extension" and current:
        latest = max(current, key=lambda a: a["end"])
        number, start = latest["number"], date.fromisoformat(latest["end"]) + timedelta(days=1)
    else:
        number = f"SIM-{suffix}"
        start = date.fromisoformat(requested["start"]) if requested.get("start") else None
    days = AUTHORIZED_DAYS
    if action == "A2":
        units, days = max(1, (units or 10) * 6 // 10), AUTHORIZED_DAYS // 2
    elif action == "A6":
        units = max(1, (units or 10) - 2)
    first = start or date.today()
    fields: dict[str, Any] = {
        "authorization_number": number,
        "start": first,  # X12 carries the end only inside a start-end range
        "end": first + timedelta(days=days - 1),
        "units": units,
        "unit_type": requested.get("unit_type"),
        "service_codes": tuple(requested.get("service_codes") or ()),
    }
    if action == "A6":
        fields["reason"] = "Simulated modification, certified at a reduced frequency."
    return fields


def render(decision: PayerDecision, fmt: str) -> tuple[bytes, str]:
    return RENDERERS[fmt](decision), CONTENT_TYPES[fmt]


@dataclass
class PayerSimulator:
    """Remembers every request by idempotency key and answers each once, after `delay`."""

    config: SimulatorConfig
    transport: httpx.AsyncBaseTransport | None = None
    requests: dict[str, PayerRequest] = field(default_factory=dict)
    answers: dict[str, Answer] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def receive(self, request: PayerRequest) -> bool:
        """Take `request`; False when its idempotency key was seen before (nothing new runs)."""
        key = request.idempotency_key
        if key in self.requests:
            return False
        self.requests[key] = request
        answer = self.answers[key] = plan(request, self.config)
        task = asyncio.create_task(self._answer(request, answer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def idle(self) -> None:
        """Wait until every scheduled answer has been given (or given up)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _answer(self, request: PayerRequest, answer: Answer) -> None:
        try:
            await asyncio.sleep(self.config.delay)
            if request.purpose == "p2p":
                await self._peer_to_peer(request, answer)
            elif answer.action != "none":
                await self._decide(request, answer)
        except Exception as err:  # one bad answer must not take the simulator down
            answer.error = f"{type(err).__name__}: {err}"
            log.exception("answering %s failed", request.idempotency_key)
        finally:
            answer.done = True

    async def _decide(self, request: PayerRequest, answer: Answer, action: str = "") -> None:
        decision = build_decision(request, action or answer.action, datetime.now(UTC))
        body, content_type = render(decision, answer.format)
        answer.delivery_id = f"sim-{uuid.uuid4().hex}"
        secret = self.config.secret_for(request.payer_id)

        def headers() -> dict[str, str]:
            # Signed afresh on every attempt, so a late retry is not refused as stale.
            return {
                "Content-Type": content_type,
                "Stepdown-Signature": sign(secret, body, int(time.time())),
                "Stepdown-Delivery": answer.delivery_id or "",
            }

        url = f"{self.config.api_url}/webhooks/payers/{request.payer_id}"
        await self._post(url, body, headers, answer)

    async def _peer_to_peer(self, request: PayerRequest, answer: Answer) -> None:
        """Stands in for the payer's medical director: books the call, then gives the outcome."""
        if self.config.ops_token is None:
            answer.error = "no ops token is configured; the P2P call is left to ops staff"
            return
        token = self.config.ops_token
        url = f"{self.config.api_url}/episodes/{request.episode_id}/p2p"
        call_at = datetime.now(UTC) + timedelta(seconds=max(self.config.delay, 1.0))
        schedule = {"action": "schedule", "at": call_at.isoformat(), "reviewer": "Dr. Sim (payer)"}
        outcome = {"action": "outcome", "outcome": answer.action, "reviewer": "Dr. Sim (payer)"}
        await self._post(url, _json(schedule), lambda: _bearer(token), answer)
        if answer.status_code != 200:
            return
        await asyncio.sleep(max(0.0, (call_at - datetime.now(UTC)).total_seconds()))
        await self._post(url, _json(outcome), lambda: _bearer(token), answer)
        if answer.status_code == 200 and answer.action == "overturned":
            # The payer owes the authorization on the denied request's trace number.
            await asyncio.sleep(self.config.delay)
            await self._decide(request, answer, "A1")

    async def _post(self, url: str, body: bytes, headers: Any, answer: Answer) -> None:
        """POST with bounded retries and exponential backoff on 5xx and connection errors."""
        async with httpx.AsyncClient(timeout=10.0, transport=self.transport) as client:
            for attempt in range(self.config.attempts):
                answer.attempts += 1
                try:
                    response = await client.post(url, content=body, headers=headers())
                except httpx.TransportError as err:
                    answer.error = f"{type(err).__name__}: {err}"
                else:
                    answer.status_code = response.status_code
                    answer.error = None if response.status_code < 400 else response.text[:500]
                    if response.status_code < 500:
                        return
                await asyncio.sleep(self.config.backoff * 2**attempt)


def _is_admin(tokens: Mapping[str, str], authorization: str) -> bool:
    """As api.auth.role_of: every configured token compared by its SHA-256, in constant time."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    presented = hash_token(token.strip()).encode()
    admitted = False
    for known, role in tokens.items():
        expected = known if TOKEN_HASH.fullmatch(known) else hash_token(known)
        admitted |= hmac.compare_digest(expected.encode(), presented) and role == "admin"
    return admitted


def _json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value).encode()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def clearinghouse_peer(settings: Settings, config: SimulatorConfig) -> ClearinghousePeer | None:
    """The clearinghouse on the settings' mailbox, answering 278s with the simulator's mix."""
    if settings.mailbox_poll_interval_seconds <= 0:
        return None
    ours = MailboxLayout(
        settings.mailbox_outbound, settings.mailbox_inbound, settings.mailbox_archive
    )
    mailbox = configured_mailbox(settings, ours.peer())
    return ClearinghousePeer(mailbox, decide=lambda request: plan(request, config).action)


def create_app(
    settings: Settings | None = None,
    *,
    config: SimulatorConfig | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The simulator's ASGI app; `uvicorn payers.simulator:create_app --factory` runs it."""
    # Only an app built from settings (the dev stack's) is also the mailbox's clearinghouse.
    from_settings = settings is not None or config is None
    settings = settings or get_settings()
    config = config or SimulatorConfig.from_settings(settings)
    simulator = PayerSimulator(config, transport=transport)
    peer = clearinghouse_peer(settings, config) if from_settings else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        interval = settings.mailbox_poll_interval_seconds
        answering = asyncio.create_task(peer.run(interval, stop)) if peer else None
        yield
        stop.set()
        if answering is not None:
            await answering
        await simulator.close()

    app = FastAPI(title="stepdown payer simulator", lifespan=lifespan)
    app.state.simulator = simulator
    app.state.pas_config = pas_config = PasServerConfig(
        clients=config.pas_clients, token_url=config.pas_token_url
    )
    pas, app.state.pas = pas_router(pas_config, lambda req: pas_action(req, config), build_decision)
    app.include_router(pas)

    @app.post("/requests", status_code=202)
    async def receive(request: PayerRequest) -> dict[str, bool]:
        if not request.payer_id.startswith(SIM_PREFIX):
            detail = f"the simulator answers only payers whose id starts with {SIM_PREFIX!r}"
            raise HTTPException(status_code=400, detail=detail)
        return {"accepted": True, "duplicate": not simulator.receive(request)}

    @app.get("/requests")
    async def listing(authorization: Annotated[str, Header()] = "") -> list[dict[str, Any]]:
        if not _is_admin(config.tokens, authorization):
            detail = "the request listing holds PHI: send `Authorization: Bearer <admin token>`"
            raise HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})
        return [
            {"request": simulator.requests[key].model_dump(mode="json"), "answer": vars(answer)}
            for key, answer in simulator.answers.items()
        ]

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
