"""The audit log: every change and every signed webhook is recorded, append-only, read by ops."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from api.app import create_app
from api.auth import actor_of
from store.ports import AuditEntry, AuditLog
from store.sql import SqlAuditLog
from tests.security.walk import CHANGING_ROUTES, Walk, console_client
from tests.support.api_client import Api
from tests.support.intake import intake_body, new_id, service_line, today
from tests.support.store_fakes import InMemoryAuditLog
from tests.support.webhooks import decision_body

# A search changes nothing (it is audited all the same: it reads PHI).
NOT_CHANGING = {"POST /codec/encode", "POST /codec/decode", "POST /episodes/search"}


async def walk_an_episode(w: Walk) -> str:
    """Intake to discharge through every route that changes an episode, refusals included."""
    body = intake_body(episode_id=new_id())
    ep, route = body["episode_id"], "POST /episodes/{episode_id}/"
    view = await w.call("intake", "POST /episodes", "/episodes", body, ep, ok="created")
    await w.call("billing", "POST /episodes", "/episodes", intake_body(), None)
    await w.call("intake", route + "information", f"/episodes/{ep}/information", {"note": "x"}, ep)
    # Nothing failed: a retry is refused (409), and refused for intake (403); both audited.
    retry = route + "failures/retry"
    await w.call("ops", retry, f"/episodes/{ep}/failures/retry", {}, ep)
    await w.call("intake", retry, f"/episodes/{ep}/failures/retry", {}, ep)
    await w.api.traced(view["trace_number"])
    payer, trace = view["payer"]["id"], view["trace_number"]
    deny = new_id("dlv")
    await w.webhook(payer, *decision_body(trace, "A4", reason="notes"), new_id("dlv"))
    await w.call("ops", route + "information", f"/episodes/{ep}/information", {"note": "y"}, ep)
    await w.webhook(payer, *decision_body(trace, "A3", reason="criteria"), deny)
    await w.webhook(payer, *decision_body(trace, "A3", reason="criteria"), deny)
    await w.webhook(payer, *decision_body(trace, "A1"), new_id("dlv"))
    await w.webhook(payer, b"{not json", "application/json", new_id("dlv"))
    stray = new_id("dlv")
    await w.webhook(payer, *decision_body(new_id("SD"), "A3"), stray)
    assign = "POST /webhooks/deliveries/{payer_id}/{delivery_id}/assign"
    path = f"/webhooks/deliveries/{payer}/{stray}/assign"
    await w.call("ops", assign, path, {"episode_id": ep}, ep)
    await w.call("ops", route + "p2p", f"/episodes/{ep}/p2p", {"action": "request"}, ep)
    await w.call("ops", route + "appeal", f"/episodes/{ep}/appeal", {"action": "file"}, ep)
    line = service_line()
    lines = {"services": [line]}
    await w.call("billing", route + "services", f"/episodes/{ep}/services", lines, ep, "recorded")
    sid, fix = line["service_id"], "POST /episodes/{episode_id}/services/{service_id}/"
    correct = {"reason": "roster signed", "service": line}
    await w.call(
        "billing",
        fix + "correct",
        f"/episodes/{ep}/services/{sid}/correct",
        correct,
        ep,
        "corrected",
    )
    void = {"reason": "entered twice"}
    await w.call("billing", fix + "void", f"/episodes/{ep}/services/{sid}/void", void, ep, "voided")
    await w.call("billing", fix + "void", f"/episodes/{ep}/services/S-none/void", void, ep)
    schedule = {"days_per_week": 3, "hours_per_day": "3"}
    await w.call("intake", "PUT /episodes/{episode_id}/schedule", f"/episodes/{ep}/schedule",
                 schedule, ep, method="PUT")  # fmt: skip
    seen = {"sessions": [{"session_id": new_id("A"), "date": today().isoformat(),
                          "status": "no_show"}]}  # fmt: skip
    await w.call("ops", route + "attendance", f"/episodes/{ep}/attendance", seen, ep, "recorded")
    notice = {"reason": "records needed"}
    await w.call("ops", route + "decision-extension", f"/episodes/{ep}/decision-extension",
                 notice, ep)  # fmt: skip
    claim = {"claim_id": new_id("C"), "through": today().isoformat()}
    await w.call("billing", route + "claims", f"/episodes/{ep}/claims", claim, ep, "held")
    await w.call("billing", route + "cancel", f"/episodes/{ep}/cancel", {"reason": "no"}, ep)
    note = {"text": "called the payer"}
    await w.call("intake", route + "notes", f"/episodes/{ep}/notes", note, ep, "added")
    await w.call("billing", route + "notes", f"/episodes/{ep}/notes", note, ep)
    attach, pdf = route + "attachments", ("a.pdf", b"%PDF-1.7 summary", "application/pdf")
    await w.upload("ops", attach, f"/episodes/{ep}/attachments", pdf, ep)
    await w.upload("ops", attach, f"/episodes/{ep}/attachments", ("a.exe", b"MZ", "x/y"), ep)
    await w.upload("billing", attach, f"/episodes/{ep}/attachments", pdf, ep)
    owner = "PUT /episodes/{episode_id}/owner"
    await w.call("ops", owner, f"/episodes/{ep}/owner", {"username": None}, ep, "unassigned")
    await w.call("intake", owner, f"/episodes/{ep}/owner", {"username": None}, ep)
    discharge = {"date": today().isoformat(), "patient_status": "01", "disposition": "completed"}
    await w.call("intake", route + "discharge", f"/episodes/{ep}/discharge", discharge, ep)
    await w.call("ops", route + "cancel", f"/episodes/{ep}/cancel", {"reason": "late"}, ep)
    await walk_claims_and_notifications(w)
    return str(ep)


async def walk_claims_and_notifications(w: Walk) -> None:
    """This stack has no claims submitter: a cut is refused (503) and leaves an entry too."""
    await w.call("billing", "POST /claims/batches", "/claims/batches", {}, None)
    ack = "POST /claims/batches/{batch_id}/acknowledgement"
    await w.call(
        "billing", ack, "/claims/batches/CB9999999/acknowledgement", {"accepted": True}, None
    )
    await w.call("ops", "POST /notifications/read", "/notifications/read", None, None)
    one = "POST /notifications/{notification_id}/read"
    await w.call("ops", one, "/notifications/999999999/read", None, None)


async def walk_the_payer_directory(w: Walk) -> None:
    route, payer = "PUT /payers/{payer_id}", new_id("payer")
    body = {"plan_type": "commercial", "channel": "webhook"}
    await w.call("admin", route, f"/payers/{payer}", body, None, "created", method="PUT")
    await w.call("admin", route, f"/payers/{payer}", body, None, "replaced", method="PUT")
    await w.call("ops", route, f"/payers/{payer}", body, None, "forbidden", method="PUT")


async def test_every_change_and_every_signed_webhook_leaves_one_complete_entry(api: Api) -> None:
    async with console_client(api) as console:
        walk = Walk(api, console)
        await walk_an_episode(walk)
        await walk.console_episode()
        await walk_the_payer_directory(walk)
    now = api.deps.clock()
    entries = await asyncio.to_thread(api.deps.audit_log.entries, None, 500)
    by_request = {e.request_id: e for e in entries}

    for sent in walk.sent:
        entry = by_request[sent.request_id]
        assert [e.request_id for e in entries].count(sent.request_id) == 1
        seen = (entry.actor, entry.role, entry.route, entry.episode_id, entry.outcome)
        assert seen == (sent.actor, sent.role, sent.route, sent.episode_id, sent.outcome)
        assert entry.status_code == sent.status
        assert now - timedelta(minutes=2) < entry.at <= now
    assert {s.route for s in walk.sent} == CHANGING_ROUTES
    assert {200, 201, 202, 303, 403, 404, 409, 422} <= {s.status for s in walk.sent}
    assert {"applied", "duplicate", "rejected", "unmatched"} <= {s.outcome for s in walk.sent}


def test_every_changing_route_of_the_api_is_walked(api: Api) -> None:
    spec = api.stack.app.openapi()
    posted = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops if m != "get"}

    assert posted - NOT_CHANGING <= CHANGING_ROUTES, posted - NOT_CHANGING - CHANGING_ROUTES


async def test_a_webhook_whose_signature_fails_is_not_an_entry_but_a_security_line(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    payer, rid = new_id("payer"), uuid.uuid4().hex
    body, ctype = decision_body(new_id("SD"), "A1")
    headers = {
        "Content-Type": ctype,
        "Stepdown-Signature": "t=1,v1=00",
        "Stepdown-Delivery": new_id("dlv"),
        "X-Request-ID": rid,
    }

    with caplog.at_level(logging.WARNING, logger="stepdown.security"):
        refused = await api.http.post(f"/webhooks/payers/{payer}", content=body, headers=headers)

    assert refused.status_code == 401
    entries = await asyncio.to_thread(api.deps.audit_log.entries, None, 500)
    assert rid not in {e.request_id for e in entries}
    assert any(payer in r.getMessage() for r in caplog.records if r.name == "stepdown.security")


@pytest.mark.parametrize("port", [AuditLog, SqlAuditLog, InMemoryAuditLog])
def test_the_audit_port_and_its_adapters_can_only_append_and_read(port: type) -> None:
    public = {name for name in dir(port) if not name.startswith("_")}

    assert public == {"append", "entries"}


async def test_the_trail_of_one_episode_is_for_ops_and_admin_only(api: Api) -> None:
    mine = await api.open()
    other = await api.open()
    url = f"/audit?episode_id={mine['episode_id']}"

    refused = {
        role: (await api.call("GET", url, role)).status_code for role in ("intake", "billing")
    }
    anonymous = await api.call("GET", url)
    readers = {role: await api.call("GET", url, role) for role in ("ops", "admin")}

    assert refused == {"intake": 403, "billing": 403}
    assert anonymous.status_code == 401
    for response in readers.values():
        assert response.status_code == 200
        trail: list[dict[str, Any]] = response.json()
        assert [(e["episode_id"], e["route"], e["role"]) for e in trail] == [
            (mine["episode_id"], "POST /episodes", "intake")
        ]
        assert trail[0]["actor"] == actor_of("t-intake")
    assert other["episode_id"] not in str(readers["ops"].json())


class UnreachableAuditLog:
    def append(self, entry: AuditEntry) -> None:
        raise OperationalError("INSERT INTO audit_log", {}, ConnectionRefusedError())

    def entries(self, episode_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
        return []


async def test_an_entry_the_database_cannot_take_is_written_whole_to_the_error_log(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    deps = dataclasses.replace(api.deps, audit_log=UnreachableAuditLog())
    transport = httpx.ASGITransport(app=create_app(api.stack.settings, deps=deps))
    rid = uuid.uuid4().hex
    async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as http:
        with caplog.at_level(logging.ERROR, logger="stepdown.api"):
            opened = await http.post(
                "/episodes", json=intake_body(), headers=Api.auth("intake") | {"X-Request-ID": rid}
            )

    assert opened.status_code == 201
    [spilled] = [r for r in caplog.records if str(r.msg).startswith("audit append failed")]
    entry = AuditEntry.model_validate_json(str(spilled.args[0]))  # type: ignore[index]
    assert (entry.request_id, entry.episode_id, entry.outcome) == (
        rid,
        opened.json()["episode_id"],
        "created",
    )
