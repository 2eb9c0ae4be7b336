"""Fault 5b: broken intake bodies through POST /episodes: no 5xx, and a refusal changes nothing."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from temporalio.client import Client

from store.db import make_engine
from tests.faults.ledger import FaultResult
from tests.faults.scenario_parser_fuzz import fuzz_examples
from tests.faults.stack import api_stack
from tests.support.api_client import Api
from tests.support.db import migrated_database
from tests.support.intake import intake_body, new_id

JSON = {"Content-Type": "application/json"}
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
# Values of the right JSON type that the domain must refuse: levels, codes, ranges, dates.
WRONG = [
    ("from_level", "3.7"), ("to_level", "2.5"), ("to_level", "0.5"), ("asam_edition", 5),
    ("dimensions", {"1": 5}), ("dimensions", {str(n): -1 for n in range(1, 7)}),
    ("requested.units", 0), ("requested.units", 10**9), ("requested.unit_type", "weeks"),
    ("requested.service_codes", ["ZZZZZ"]), ("requested.service_codes", []),
    ("requested.start", "1999-01-01"), ("patient.birth_date", "2999-01-01"),
    ("patient.name", ""), ("patient.name", "x" * 5000), ("payer.plan_type", "gold"),
    ("payer.id", "no spaces allowed"), ("diagnoses", ["NOT-A-CODE"]), ("diagnoses", []),
    ("setting", "moon"), ("urgency", "asap"), ("episode_id", "../etc/passwd"),
    ("prior_authorization.end", "1900-01-01"), ("php_last_claim_through", "soon"),
]  # fmt: skip


def put(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for key in parents:
        inner = body.get(key)
        if not isinstance(inner, dict):
            return
        body = inner
    body[leaf] = value


@st.composite
def broken_intakes(draw: st.DrawFn) -> dict[str, Any]:
    """A valid intake body with one to three things wrong with it."""
    body: dict[str, Any] = intake_body(episode_id=new_id())
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["delete", "junk", "nested", "wrong", "extra"]))
        key = draw(st.sampled_from(sorted(body)))
        if how == "delete":
            body.pop(key, None)
        elif how == "junk":
            body[key] = draw(JUNK)
        elif how == "nested" and isinstance(body.get(key), dict) and body[key]:
            body[key][draw(st.sampled_from(sorted(body[key])))] = draw(JUNK)
        elif how == "wrong":
            put(body, *draw(st.sampled_from(WRONG)))
        else:
            body[draw(st.text(min_size=1, max_size=8))] = draw(JUNK)
    return body


def generate(examples: int) -> list[dict[str, Any]]:
    """`examples` bodies drawn by hypothesis; they are sent afterwards, concurrently."""
    bodies: list[dict[str, Any]] = []

    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(broken_intakes())
    def collect(body: dict[str, Any]) -> None:
        bodies.append(body)

    collect()
    return bodies


async def post_all(
    api: Api, bodies: list[dict[str, Any]], concurrency: int = 8
) -> list[tuple[int, Any]]:
    gate = asyncio.Semaphore(concurrency)

    async def one(body: dict[str, Any]) -> tuple[int, Any]:
        async with gate:
            # json.dumps writes NaN and Infinity, which are not JSON: the API must refuse them.
            raw = json.dumps(body).encode()
            response = await api.call("POST", "/episodes", "intake", content=raw, headers=JSON)
            return response.status_code, response.json()

    return list(await asyncio.gather(*(one(b) for b in bodies)))


async def left_behind(api: Api, episode_id: Any) -> bool:
    """Whether an episode with this id exists in Temporal or in the read model."""
    if not isinstance(episode_id, str) or not episode_id:
        return False
    found = await api.call("GET", f"/episodes/{quote(episode_id, safe='')}", "ops")
    projected = await asyncio.to_thread(api.deps.read_model.summary, episode_id)
    return found.status_code == 200 or projected is not None


def answer_problems(bodies: list[dict[str, Any]], answers: list[tuple[int, Any]]) -> list[str]:
    """5xx answers, and 422s that do not list their problems."""
    problems = []
    for body, (code, answer) in zip(bodies, answers, strict=True):
        if code >= 500 or (code == 422 and not answer.get("errors")):
            problems.append(f"{code} {answer!r:.200} for {body!r:.300}")
    return problems


async def account(
    api: Api, bodies: list[dict[str, Any]], answers: list[tuple[int, Any]]
) -> FaultResult:
    codes = [code for code, _ in answers]
    opened = [b for b, code in zip(bodies, codes, strict=True) if code in (200, 201)]
    refused = [b for b, code in zip(bodies, codes, strict=True) if 400 <= code < 500]
    opened_ids = {b["episode_id"] for b in opened}
    lost = sum([not await left_behind(api, b["episode_id"]) for b in opened])
    # A refused body may repeat the id of an opened one (a junk id drawn twice): not its doing.
    ids = [b.get("episode_id") for b in refused]
    own = [i for i in ids if isinstance(i, str) and i not in opened_ids]
    changed = sum([await left_behind(api, episode_id) for episode_id in own])
    notes = [
        f"{len(opened)} opened, {len(refused)} refused (each 422 lists its problems); lost: "
        "an opened episode not readable; doubled: a refused body that left an episode behind",
    ]
    load = {"intake bodies": len(bodies)}
    fault = "Bad input: intake bodies fuzzed over HTTP"
    problems = answer_problems(bodies, answers)
    return FaultResult(fault, load, lost, changed, 0.0, notes, problems)


async def run(client: Client, workdir: Path, examples: int | None = None) -> FaultResult:
    began = time.monotonic()
    bodies = generate(examples or fuzz_examples())
    with migrated_database("sqlite", workdir) as url:
        engine = make_engine(url)
        try:
            async with api_stack(client, engine) as api:
                answers = await post_all(api, bodies)
                result = await account(api, bodies, answers)
        finally:
            engine.dispose()
    result.seconds = time.monotonic() - began
    return result
