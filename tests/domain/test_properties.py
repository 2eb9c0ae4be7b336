"""Invariants over random command sequences: replay, coverage, units, deadlines, rejection."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import commands as c
from domain.claims import ledger
from domain.decider import decide, fold
from domain.errors import Rejected
from domain.events import EVENT_LIST_ADAPTER
from domain.model import PayerDecision
from tests.domain.scenario import Scenario, service

ACTIONS = ["A1", "A2", "A3", "A4", "A6", "C", "CT", "NA"]

step = st.one_of(
    st.tuples(
        st.just("decision"), st.sampled_from(ACTIONS), st.integers(1, 40), st.integers(0, 60)
    ),
    st.tuples(st.just("services"), st.integers(0, 70), st.integers(1, 3)),
    st.tuples(st.just("claim"), st.integers(0, 80)),
    st.tuples(st.just("clock"), st.integers(1, 20 * 24)),
    st.tuples(st.just("p2p"), st.sampled_from(["request", "schedule", "overturned", "upheld"])),
    st.tuples(st.just("appeal"), st.sampled_from(["file", "overturned", "upheld"])),
    st.tuples(
        st.just("info"),
    ),
    st.tuples(
        st.just("discharge"),
    ),
)

START = date(2026, 11, 23)


def _command(s: Scenario, op: tuple[Any, ...], n: int) -> Any:
    kind = op[0]
    if kind == "decision":
        _, action, units, days = op
        trace = s.state.trace_numbers[-1] if s.state.trace_numbers else "none"
        return c.ApplyPayerDecision(
            delivery_id=f"d{n}",
            decision=PayerDecision(
                trace_number=trace,
                action=action,
                authorization_number=f"AUTH-{n % 2}",
                start=START,
                end=START + timedelta(days=days),
                units=units,
            ),
        )
    if kind == "services":
        _, offset, count = op
        day = min(START + timedelta(days=offset), s.now.date())
        return c.RecordServices(
            services=tuple(service(day, service_id=f"S{n}-{i}", code="S9480") for i in range(count))
        )
    if kind == "claim":
        return c.ReleaseClaim(claim_id=f"C{n}", through=START + timedelta(days=op[1]))
    if kind == "p2p":
        if op[1] == "request":
            return c.RequestP2P()
        if op[1] == "schedule":
            return c.ScheduleP2P(at=s.now + timedelta(hours=2))
        return c.RecordP2POutcome(outcome=op[1])
    if kind == "appeal":
        return c.FileAppeal() if op[1] == "file" else c.RecordAppealOutcome(outcome=op[1])
    if kind == "info":
        return c.ProvideInformation(note="documents")
    return c.Discharge(date=s.now.date(), patient_status="01", disposition="completed")


def _run(s: Scenario, op: tuple[Any, ...], n: int) -> None:
    if op[0] == "clock":
        s.advance(hours=op[1])
        for d in sorted(s.state.deadlines.items(), key=lambda kv: kv[1]):
            if d[1] <= s.now and s.state.deadlines.get(d[0]) == d[1]:
                _checked(s, c.DeadlineReached(kind=d[0], due=d[1]))
        return
    _checked(s, _command(s, op, n))


def _checked(s: Scenario, cmd: Any) -> None:
    before = s.state
    try:
        events = s.run(cmd)
    except Rejected:
        assert s.state == before
        return
    for e in events:
        for due in _dues(e):
            assert due > s.now or due >= e.at, (e.type, due, s.now)
    _check_invariants(s)


def _dues(event: Any) -> list[Any]:
    names = (
        "decision_due",
        "respond_by",
        "p2p_window_closes",
        "appeal_filing_due",
        "outcome_due",
        "authorization_due",
        "review_due",
        "next_due",
    )
    return [getattr(event, n) for n in names if getattr(event, n, None) is not None]


def _check_invariants(s: Scenario) -> None:
    assert fold(s.events) == s.state
    book = ledger(s.state)
    for auth in s.state.authorizations:
        assert book.used.get(auth.number, 0) <= auth.units
    for record in s.state.released_claims:
        assert record.claim is not None
        for line in record.claim.lines:
            number = book.allocation[line.service_id]
            auth = next(a for a in s.state.authorizations if a.number == number)
            assert auth.start <= line.date <= auth.end
            assert auth.covers(line.date, s.state.services[line.service_id].code, line.revenue_code)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=25))
def test_random_episodes_keep_every_invariant(ops):
    s = Scenario()
    for n, op in enumerate(ops):
        _run(s, op, n)
    assert fold(EVENT_LIST_ADAPTER.validate_json(EVENT_LIST_ADAPTER.dump_json(s.events))) == s.state


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ACTIONS), st.integers(1, 40))
def test_rejected_commands_leave_state_unchanged(action, units):
    s = Scenario()
    s.approve()
    before = s.state
    cmd = c.ApplyPayerDecision(
        delivery_id="x", decision=PayerDecision(trace_number=s.trace, action=action, units=units)
    )
    with contextlib.suppress(Rejected):
        decide(s.state, cmd, s.now)
    assert s.state == before
