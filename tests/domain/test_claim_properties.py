"""Invariants of the ledger and the gate over random authorizations and services (§5–§6)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.claims import (
    Held,
    Released,
    gate,
    held_claim_event,
    ledger,
    regate,
    released_claim_event,
)
from domain.errors import Rejected
from domain.evolve import fold
from domain.holds import month_of, never_billable
from domain.ledger import released_services as ledger_services
from domain.model import Authorization, Service
from domain.state import ClaimRecord, DischargeInfo, Episode
from tests.support.domain_factories import OPENED_AT, START, authorization, episode, service

NOW = OPENED_AT

PAIRS = [("90853", "0905"), ("S9480", "0905"), ("G0410", "0915"), ("90834", "0914")]
CODES = sorted({code for pair in PAIRS for code in pair})
UNIT_TYPES = ["days", "sessions", "units_15min", "hours"]
FAR = START + timedelta(days=365)


@st.composite
def authorizations(draw: st.DrawFn, number: str) -> Authorization:
    start = START + timedelta(days=draw(st.integers(0, 40)))
    return authorization(
        number=number,
        start=start,
        end=start + timedelta(days=draw(st.integers(0, 45))),
        units=draw(st.integers(0, 12)),
        unit_type=draw(st.sampled_from(UNIT_TYPES)),
        service_codes=tuple(draw(st.sets(st.sampled_from(CODES), min_size=1))),
    )


@st.composite
def services(draw: st.DrawFn, service_id: str) -> Service:
    code, revenue_code = draw(st.sampled_from(PAIRS))
    return service(
        service_id=service_id,
        date=START + timedelta(days=draw(st.integers(0, 70))),
        code=code,
        revenue_code=revenue_code,
        minutes=draw(st.sampled_from([None, 10, 30, 45, 60, 95])),
        units=draw(st.integers(1, 4)),
        roster_signed=draw(st.booleans()),
    )


@st.composite
def episodes(draw: st.DrawFn) -> Episode:
    count = draw(st.integers(0, 3))
    auths = tuple(draw(authorizations(f"AUTH-{i}")) for i in range(count))
    recorded = [draw(services(f"S-{i:02d}")) for i in range(draw(st.integers(0, 20)))]
    return episode(authorizations=auths, services=recorded)


def _covered(state: Episode, day: date, code: str, revenue_code: str) -> bool:
    return any(a.covers(day, code, revenue_code) for a in state.authorizations)


def _record(state: Episode, claim_id: str, verdict: Released | Held) -> Episode:
    if isinstance(verdict, Released):
        return fold(released_claim_event(verdict, claim_id, NOW), state)
    return fold(held_claim_event(verdict, claim_id, FAR, NOW), state)


def _assert_released_lines_are_covered(state: Episode, verdict: Released | Held) -> None:
    if isinstance(verdict, Released):
        for line in verdict.claim.lines:
            code = state.services[line.service_id].code
            assert _covered(state, line.date, code, line.revenue_code)


def _bill_everything(state: Episode) -> Episode:
    for n in range(40):
        try:
            verdict = gate(state, FAR)
        except Rejected:
            return state
        _assert_released_lines_are_covered(state, verdict)
        state = _record(state, f"C-{n:02d}", verdict)
    raise AssertionError("gate kept finding services to bill")


def _released_ids(claims: list[ClaimRecord]) -> list[str]:
    return [sid for record in claims if record.status == "released" for sid in record.service_ids]


@settings(max_examples=200, deadline=None)
@given(episodes())
def test_ledger_never_uses_more_than_approved_and_only_covering_authorizations(state):
    book = ledger(state, state.services.values())  # as if every recorded line were released
    by_number = {a.number: a for a in state.authorizations}
    for auth in state.authorizations:
        assert 0 <= book.used[auth.number] <= auth.units
    for sid, number in book.allocation.items():
        s = state.services[sid]
        assert by_number[number].covers(s.date, s.code, s.revenue_code)


@settings(max_examples=200, deadline=None)
@given(episodes())
def test_every_released_line_lies_inside_an_authorizations_dates_and_codes(state):
    billed = _bill_everything(state)
    allocation = ledger(billed).allocation
    for record in billed.released_claims:
        assert record.claim is not None
        for line in record.claim.lines:
            code = billed.services[line.service_id].code
            assert _covered(billed, line.date, code, line.revenue_code)
            assert line.service_id in allocation


@settings(max_examples=200, deadline=None)
@given(episodes(), st.data())
def test_gate_never_releases_a_service_twice(state, data):
    billed = _bill_everything(state)
    generous = authorization(
        number="AUTH-RETRO",
        start=START - timedelta(days=data.draw(st.integers(0, 3))),
        end=FAR,
        units=1000,
        unit_type="sessions",
        service_codes=tuple(CODES),
    )
    billed = billed.model_copy(update={"authorizations": (*billed.authorizations, generous)})
    for record in sorted(billed.held_claims, key=lambda c: c.claim_id):
        verdict = regate(billed, record)
        _assert_released_lines_are_covered(billed, verdict)
        if isinstance(verdict, Released):
            billed = _record(billed, record.claim_id, verdict)
    released = _released_ids(list(billed.claims.values()))
    assert len(released) == len(set(released))
    unbilled = set(billed.services) - set(billed.billed_service_ids)
    assert all(never_billable(billed.services[sid]) for sid in unbilled)
    assert set(released) <= set(ledger(billed).allocation)


def _payer_count(auth: Authorization, lines: list[Service]) -> int:
    """The units `lines` use of `auth`, counted afresh the way the payer counts (§6)."""
    if auth.unit_type == "days":
        return len({s.date for s in lines})
    if auth.unit_type == "sessions":
        return len(lines)
    if auth.unit_type == "units_15min":
        return sum(s.units for s in lines)
    minutes: dict[date, int] = {}
    for s in lines:
        if s.minutes is not None:
            minutes[s.date] = minutes.get(s.date, 0) + s.minutes
    untimed = sum(s.units for s in lines if s.minutes is None)
    return untimed + sum(-(-m // 60) for m in minutes.values())


@settings(max_examples=100, deadline=None)
@given(episodes())
def test_units_used_equal_what_the_released_lines_use_and_nothing_else(state):
    billed = _bill_everything(state)
    book = ledger(billed)
    released = [s for s in ledger_services(billed)]
    for auth in billed.authorizations:
        mine = [s for s in released if book.allocation.get(s.service_id) == auth.number]
        assert book.used[auth.number] == _payer_count(auth, mine)
    assert {s.service_id for s in released} == set(_released_ids(list(billed.claims.values())))


_LAST = {"1", "4"}


@settings(max_examples=100, deadline=None)
@given(episodes(), st.booleans())
def test_frequency_digits_follow_month_order_with_one_claim_a_month(state, discharge):
    if discharge and state.services:
        last = max(s.date for s in state.services.values())
        info = DischargeInfo(date=last, patient_status="01", disposition="completed")
        state = state.model_copy(update={"discharge": info})
    billed = _bill_everything(state)
    live = sorted(billed.released_claims, key=lambda r: r.claim.from_ if r.claim else FAR)
    months = [(r.claim.from_.year, r.claim.from_.month) for r in live if r.claim]
    assert len(months) == len(set(months))
    for record in live:
        assert record.claim is not None
        assert month_of(record.claim.from_) == month_of(record.claim.through)
    digits = [r.claim.type_of_bill[-1] for r in live if r.claim]
    for n, digit in enumerate(digits):
        if n == 0:
            assert digit in {"1", "2"}
        else:
            assert digit in {"3", "4"}
        if digit in _LAST:
            assert n == len(digits) - 1
