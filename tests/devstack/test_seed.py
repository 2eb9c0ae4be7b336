"""Seeding opens the demo episodes once; a second run, even on another day, reuses them."""

from __future__ import annotations

import json
from datetime import date

import httpx

from devstack.apiclient import ApiClient
from devstack.demo import BILLED_DEMOS, DEMO_EPISODES
from devstack.seed import bill, seed, seed_payers


class FakeApi:
    """Answers POST /episodes like the API: 201 new, 200 same body, 409 other body."""

    def __init__(self) -> None:
        self.bodies: dict[str, dict[str, object]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer dev-intake"
        body = json.loads(request.content)
        known = self.bodies.setdefault(body["episode_id"], body)
        if known is body:
            return httpx.Response(201, json={"episode_id": body["episode_id"]})
        if known == body:
            return httpx.Response(200, json={"episode_id": body["episode_id"]})
        problem = {"title": "Conflict", "status": 409, "detail": "opened with other details"}
        return httpx.Response(409, json=problem)


def client(api: FakeApi) -> ApiClient:
    return ApiClient("http://api", "dev-intake", transport=httpx.MockTransport(api))


def test_the_first_run_opens_every_demo_episode():
    outcomes = {s.outcome for s in seed(client(FakeApi()), date(2026, 11, 23))}

    assert outcomes == {"opened"}


def test_a_second_run_the_same_day_or_later_reuses_them():
    api = FakeApi()
    seed(client(api), date(2026, 11, 23))

    same_day = seed(client(api), date(2026, 11, 23))
    next_day = seed(client(api), date(2026, 11, 24))

    assert {s.outcome for s in same_day + next_day} == {"existing"}
    assert len(api.bodies) == len(DEMO_EPISODES)


def test_a_refused_episode_is_reported_with_the_problem():
    def refuse(request: httpx.Request) -> httpx.Response:
        problem = {"title": "Invalid input", "status": 422, "detail": "bad level"}
        return httpx.Response(422, json=problem)

    api = ApiClient("http://api", "dev-intake", transport=httpx.MockTransport(refuse))
    [first, *_] = seed(api, date(2026, 11, 23))

    assert first.outcome == "422 Invalid input: bad level"


class FakeDirectory:
    """Answers GET and PUT /payers/{id} like the API, for the admin token only."""

    def __init__(self, known: dict[str, dict[str, object]] | None = None) -> None:
        self.payers = dict(known or {})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] != "Bearer dev-admin":
            return httpx.Response(403, json={"title": "Forbidden", "status": 403, "detail": "no"})
        payer_id = request.url.path.rsplit("/", 1)[-1]
        if request.method == "PUT":
            self.payers[payer_id] = json.loads(request.content)
            return httpx.Response(201, json={"payer_id": payer_id})
        if payer_id in self.payers:
            return httpx.Response(200, json=self.payers[payer_id])
        return httpx.Response(404, json={"title": "Not Found", "status": 404, "detail": "no"})


def test_every_demo_payer_is_registered_once_and_an_operators_change_is_kept():
    changed = {"plan_type": "medicare_advantage", "channel": "pas"}
    directory = FakeDirectory({"sim-bluepeak-ma": changed})
    admin = ApiClient("http://api", "dev-admin", transport=httpx.MockTransport(directory))

    first = seed_payers(admin, "http://sim", "file:/data/pas/dev-client-key.pem")
    again = seed_payers(admin, "http://sim", "file:/data/pas/dev-client-key.pem")

    assert {d.payer_id for d in DEMO_EPISODES} == set(directory.payers)
    assert first["sim-bluepeak-ma"] == "existing" and directory.payers["sim-bluepeak-ma"] == changed
    assert first["sim-acme-medicaid"] == "registered"
    assert directory.payers["acme-commercial"] == {"plan_type": "commercial", "channel": "webhook"}
    assert set(again.values()) == {"existing"}
    pas = directory.payers["sim-pas-medicaid"]
    assert pas["channel"] == "pas" and pas["pas"]["base_url"] == "http://sim/fhir"
    assert pas["pas"]["private_key"] == "file:/data/pas/dev-client-key.pem"


def test_the_dev_pas_key_is_made_once_and_its_public_half_registered(tmp_path):
    from joserfc.jwk import ECKey

    from devstack.pas_keys import dev_pas_key, simulator_clients_env

    private, public = dev_pas_key(tmp_path)
    again = dev_pas_key(tmp_path)

    assert again == (private, public)
    assert private.stat().st_mode & 0o077 == 0
    ECKey.import_key(private.read_text())
    assert json.loads(simulator_clients_env(public)) == {"stepdown-dev": f"file:{public}"}


class FakeBilling:
    """The API for billing: the episode's state, then services and claims as the API answers."""

    def __init__(self, states: list[str]) -> None:
        self.states = states
        self.calls: list[tuple[str, str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer dev-billing"
        body = json.loads(request.content) if request.content else None
        self.calls.append((request.method, request.url.path, body))
        if request.method == "GET":
            state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
            return httpx.Response(200, json={"state": state})
        if request.url.path.endswith("/services"):
            return httpx.Response(200, json={"accepted": [body["services"][0]["service_id"]]})
        assert isinstance(body, dict)
        return httpx.Response(201, json={"claim_id": body["claim_id"], "status": "released"})


def billing(api: FakeBilling) -> ApiClient:
    return ApiClient("http://api", "dev-billing", transport=httpx.MockTransport(api))


def no_wait(seconds: float) -> None:
    pass


def test_the_billed_demo_is_billed_once_the_simulator_approved_it():
    api = FakeBilling(["auth_requested", "auth_requested", "authorized"])
    [demo] = BILLED_DEMOS

    outcomes = bill(billing(api), date(2026, 11, 23), sleep=no_wait)

    assert outcomes == {demo.episode_id: f"claim {demo.episode_id}-20261123 released"}
    posts = [(path, body) for method, path, body in api.calls if method == "POST"]
    assert [p for p, _ in posts] == [f"/episodes/{demo.episode_id}/services",
                                     f"/episodes/{demo.episode_id}/claims"]  # fmt: skip
    assert posts[1][1] == {"claim_id": f"{demo.episode_id}-20261123", "through": "2026-11-23"}


def test_a_demo_that_is_not_approved_in_time_is_reported_not_billed():
    api = FakeBilling(["auth_requested"])
    ticks = iter(range(100))

    outcomes = bill(billing(api), date(2026, 11, 23), wait_seconds=3,
                    clock=lambda: float(next(ticks)), sleep=no_wait)  # fmt: skip

    assert list(outcomes.values()) == ["not billed: the episode is auth_requested"]
    assert all(method == "GET" for method, _, _ in api.calls)


def test_a_refused_claim_is_reported_with_the_problem():
    def refuse(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"state": "authorized"})
        problem = {"title": "Invalid input", "status": 422, "detail": "no such code"}
        return httpx.Response(422, json=problem)

    client = ApiClient("http://api", "dev-billing", transport=httpx.MockTransport(refuse))
    [outcome] = bill(client, date(2026, 11, 23), sleep=no_wait).values()

    assert outcome.startswith("422 Invalid input: no such code")
