"""No PHI in any log record: a full episode over uvicorn with every logger at DEBUG."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from store.db import make_engine
from tests.support.api_client import Api
from tests.support.http import served
from tests.support.intake import approval, intake_body, new_id, service_line, today
from tests.support.webhooks import decision_body, signature

PATIENT = {
    "id": "PT-QZ-77190",
    "name": "Quirinalia Vantablack-Oyelaran",
    "birth_date": "1931-07-29",
    "member_id": "MBRZX550173",
}
BORN = date.fromisoformat(PATIENT["birth_date"])
# Every way a value could reach a log line: as sent, and as Python would print a date.
PHI = [*PATIENT.values(), "Quirinalia", "Vantablack", repr(BORN), BORN.strftime("%m/%d/%Y")]
# Loggers of the libraries underneath, named so they are at DEBUG even before first use.
NAMED = [
    *("uvicorn", "uvicorn.access", "uvicorn.error", "temporalio", "sqlalchemy"),
    *("sqlalchemy.engine", "sqlalchemy.pool", "httpx", "httpcore", "asyncio", "stepdown"),
]


@contextmanager
def every_logger_at_debug(handler: logging.Handler) -> Iterator[None]:
    """Root and every known logger at DEBUG; loggers that do not propagate get the handler."""
    names = set(NAMED) | set(logging.root.manager.loggerDict)
    loggers = [logging.root, *(logging.getLogger(name) for name in sorted(names))]
    saved = [(lg, lg.level) for lg in loggers]
    attached = [lg for lg in loggers if lg is not logging.root and not lg.propagate]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    for lg in attached:
        lg.addHandler(handler)
    try:
        yield
    finally:
        for lg, level in saved:
            lg.setLevel(level)
        for lg in attached:
            lg.removeHandler(handler)


async def full_episode(http: httpx.AsyncClient, api: Api) -> None:
    """Intake (refused, then opened) → payer approval → services → claim → discharge → reads."""
    body = intake_body(episode_id=new_id(), patient=PATIENT)
    ep = body["episode_id"]
    ops, intake, billing = (Api.auth(role) for role in ("ops", "intake", "billing"))
    bad = body | {"dimensions": {"1": 9}}
    assert (await http.post("/episodes", json=bad, headers=intake)).status_code == 422
    view = (await http.post("/episodes", json=body, headers=intake)).json()
    conflict = body | {"urgency": "expedited"}
    assert (await http.post("/episodes", json=conflict, headers=intake)).status_code == 409
    await api.traced(view["trace_number"])
    decision, ctype = decision_body(view["trace_number"], "A1", **approval())
    headers = {"Content-Type": ctype, "Stepdown-Signature": signature(decision)}
    headers["Stepdown-Delivery"] = new_id("dlv")
    webhook = await http.post(f"/webhooks/payers/{view['payer']['id']}", content=decision,
                              headers=headers)  # fmt: skip
    assert webhook.json()["status"] == "applied"
    lines = {"services": [service_line()]}
    assert (await http.post(f"/episodes/{ep}/services", json=lines, headers=billing)).is_success
    claim = {"claim_id": new_id("C"), "through": today().isoformat()}
    assert (await http.post(f"/episodes/{ep}/claims", json=claim, headers=billing)).is_success
    done = {"date": today().isoformat(), "patient_status": "01", "disposition": "completed"}
    closed = await http.post(f"/episodes/{ep}/discharge", json=done, headers=intake)
    assert closed.json()["state"] == "closed"
    await api.projected(ep, closed.json()["version"])
    for path in ("events", "history"):
        assert PATIENT["name"] in (await http.get(f"/episodes/{ep}/{path}", headers=ops)).text


def logged_text(record: logging.LogRecord) -> str:
    """The record as any handler could write it: message, exception, stack and extras."""
    return logging.Formatter().format(record) + repr(record.__dict__)


@pytest.mark.slow
async def test_a_full_episode_leaves_no_phi_in_any_log_record(
    api: Api, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    with every_logger_at_debug(caplog.handler):
        async with (
            served(api.stack.app, log_config=None, log_level="debug") as url,
            httpx.AsyncClient(base_url=url) as http,
        ):
            await full_episode(http, api)
    records = caplog.records
    printed = capfd.readouterr()

    names = {r.name.split(".")[0] for r in records}
    assert {"uvicorn", "sqlalchemy", "temporalio"} <= names, names  # the capture did capture
    leaks = [(r.name, value) for r in records for value in PHI if value in logged_text(r)]
    assert leaks == []
    assert [value for value in PHI if value in printed.out + printed.err] == []


def test_an_engine_shows_no_values_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine("sqlite://")
    name = PATIENT["name"]
    with every_logger_at_debug(caplog.handler), engine.begin() as db:
        db.execute(text("create table t (v text primary key)"))
        db.execute(text("insert into t values (:v)"), {"v": name})
        assert db.execute(text("select v from t")).scalar_one() == name
        with pytest.raises(IntegrityError) as duplicate:
            db.execute(text("insert into t values (:v)"), {"v": name})
    engine.dispose()

    assert any("select v from t" in r.getMessage() for r in caplog.records)
    assert [r.getMessage() for r in caplog.records if name in logged_text(r)] == []
    assert name not in str(duplicate.value)
