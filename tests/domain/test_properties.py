"""Invariants over random command sequences: replay, coverage, units, deadlines, rejection."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import commands as c
from domain.attendance import AttendanceEntry
from domain.claims import ledger
from domain.decider import decide, fold
from domain.errors import Rejected
from domain.events import EVENT_LIST_ADAPTER
from domain.model import PayerDecision
from tests.support.scenario import Scenario, service

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
    st.tuples(st.just("void"), st.integers(0, 30)),
    st.tuples(st.just("correct"), st.integers(0, 30), st.sampled_from([10, 30, 60])),
    st.tuples(
        st.just("attendance"),
        st.integers(0, 70),
        st.sampled_from(["attended", "no_show", "late_cancel", "excused"]),
    ),
    st.tuples(st.just("extend"), st.sampled_from(["decision", "appeal"])),
    # The payer's own extension notice: a pended answer with extension days.
    st.tuples(st.just("payer_extend"), st.integers(1, 20)),
)

START = date(2026, 11, 23)
BILL = {"code": "S9480", "revenue_code": "0905", "rendering_npi": "1234567893", "charge": "150"}


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
    if kind in ("void", "correct"):
        recorded = sorted(s.state.services)
        if not recorded:
            return c.VoidService(service_id="S-none", reason="x")
        target = recorded[op[1] % len(recorded)]
        if kind == "void":
            return c.VoidService(service_id=target, reason="entered in error")
        fixed = s.state.services[target].model_copy(update={"minutes": op[2]})
        return c.CorrectService(service=fixed, reason="minutes")
    if kind == "attendance":
        _, offset, status = op
        day = min(START + timedelta(days=offset), s.now.date())
        entry: dict[str, Any] = {"session_id": f"A{n}", "date": day, "status": status}
        if status == "attended":
            entry |= {"minutes": 60, "bill": BILL}
        return c.RecordAttendance(sessions=(AttendanceEntry.model_validate(entry),))
    if kind == "extend":
        return c.ExtendDecision(scope=op[1])
    if kind == "payer_extend":
        trace = s.state.trace_numbers[-1] if s.state.trace_numbers else "none"
        notice = PayerDecision(trace_number=trace, action="A4", extension_days=op[1])
        return c.ApplyPayerDecision(delivery_id=f"d{n}", decision=notice)
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
    # A snapshot by value: a decider that changed the state in place before refusing would
    # leave `s.state` different from this copy (comparing `s.state` with itself could not fail).
    before = s.state.model_dump(mode="json")
    count = len(s.events)
    try:
        events = s.run(cmd)
    except Rejected as refused:
        assert refused.code and refused.problems, cmd
        assert s.state.model_dump(mode="json") == before
        assert len(s.events) == count
        # The refusal is a rule of the state, not of the moment: the state folded afresh from
        # the events refuses the same command with the same code.
        with pytest.raises(Rejected) as again:
            decide(fold(s.events), cmd, s.now)
        assert again.value.code == refused.code
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
    # No released line outside an authorization; every released line holds its units.
    released_ids = set()
    for record in s.state.released_claims:
        assert record.claim is not None
        for line in record.claim.lines:
            released_ids.add(line.service_id)
            number = book.allocation[line.service_id]
            assert line.authorization_number == number
            auth = next(a for a in s.state.authorizations if a.number == number)
            assert auth.start <= line.date <= auth.end
            assert auth.covers(line.date, s.state.services[line.service_id].code, line.revenue_code)
    # Units used are those of the released lines, and nothing else.
    assert set(book.allocation) == released_ids
    assert sum(book.used.values()) == _released_units(s.state, book)
    # No no-show or late cancellation is ever on a claim.
    on_claims = {sid for c in s.state.claims.values() for sid in c.service_ids}
    assert not on_claims & s.state.missed_sessions
    _check_month_order(s.state)


def _released_units(state: Any, book: Any) -> int:
    """The units the released lines use, counted afresh per authorization and unit type."""
    total = 0
    by_number = {a.number: a for a in state.authorizations}
    for number, auth in by_number.items():
        mine = [state.services[sid] for sid, n in book.allocation.items() if n == number]
        if auth.unit_type == "days":
            total += len({x.date for x in mine})
        elif auth.unit_type == "sessions":
            total += len(mine)
        else:
            total += sum(x.units for x in mine)
    return total


def _check_month_order(state: Any) -> None:
    """One live claim a month; frequency digits follow month order (2 first, then 3, and 1 or
    4 only last); a replacement (7) stands in its replaced claim's place. A late month (its
    lines recorded after a later month's claim went out, billing rules 3) goes out on its own
    interim claim (2 or 3, never last) with a warning, outside the sequence it could not join."""
    live = sorted(
        (r for r in state.released_claims if r.claim is not None), key=lambda r: r.claim.from_
    )
    months = [(r.claim.from_.year, r.claim.from_.month) for r in live]
    assert len(months) == len(set(months))
    late = [r for r in live if _went_out_late(state, r)]
    for record in late:
        assert _position_digit(state, record) in {"2", "3"}
        assert any(m > (record.claim.from_.year, record.claim.from_.month) for m in months)
    live = [r for r in live if r not in late]
    digits = [_position_digit(state, r) for r in live]
    for n, digit in enumerate(digits):
        assert digit in ({"1", "2"} if n == 0 else {"3", "4"}), digits
        if digit in {"1", "4"}:
            assert n == len(digits) - 1, digits


def _original(state: Any, record: Any) -> Any:
    while record.claim.type_of_bill[-1] == "7":
        record = state.claims[record.claim.replaces]
    return record


def _went_out_late(state: Any, record: Any) -> bool:
    return any("out of month order" in w for w in _original(state, record).claim.warnings)


def _position_digit(state: Any, record: Any) -> str:
    digit = record.claim.type_of_bill[-1]
    while digit == "7":
        record = state.claims[record.claim.replaces]
        digit = record.claim.type_of_bill[-1]
    return digit


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=25))
def test_random_episodes_keep_every_invariant(ops):
    s = Scenario()
    for n, op in enumerate(ops):
        _run(s, op, n)
    assert fold(EVENT_LIST_ADAPTER.validate_json(EVENT_LIST_ADAPTER.dump_json(s.events))) == s.state


def test_a_late_month_goes_out_on_its_own_claim_and_keeps_every_invariant():
    s = Scenario()
    steps: list[tuple[Any, ...]] = [
        ("decision", "A1", 40, 60),
        ("clock", 10 * 24),
        ("services", 9, 1),  # 2026-12-02
        ("claim", 10),
        ("services", 2, 1),  # 2026-11-25, recorded after December went out
        ("claim", 10),
    ]
    for n, op in enumerate(steps):
        _run(s, op, n)
    released = sorted(s.state.released_claims, key=lambda r: r.claim.from_)  # type: ignore[union-attr]
    assert [r.claim.type_of_bill[-1] for r in released] == ["2", "2"]  # type: ignore[union-attr]
    assert _went_out_late(s.state, released[0]) and not _went_out_late(s.state, released[1])
    assert not s.state.held_claims


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ACTIONS), st.integers(1, 40))
def test_rejected_commands_leave_state_unchanged(action, units):
    """Once the episode is authorized no request waits for a decision, so every payer decision
    is refused (DOMAIN.md: a decision answers the open request) and the state is as it was."""
    s = Scenario()
    s.approve()
    before = s.state.model_dump(mode="json")
    cmd = c.ApplyPayerDecision(
        delivery_id="x", decision=PayerDecision(trace_number=s.trace, action=action, units=units)
    )
    with pytest.raises(Rejected) as refused:
        decide(s.state, cmd, s.now)
    assert refused.value.code == "invalid_state"
    assert s.state.model_dump(mode="json") == before
    assert fold(s.events).model_dump(mode="json") == before


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ACTIONS), st.integers(1, 40))
def test_decisions_for_a_trace_not_ours_are_refused(action, units):
    s = Scenario()
    before = s.state.model_dump(mode="json")
    cmd = c.ApplyPayerDecision(
        delivery_id="x", decision=PayerDecision(trace_number="T-OTHER", action=action, units=units)
    )
    with pytest.raises(Rejected) as refused:
        decide(s.state, cmd, s.now)
    assert refused.value.code == "unknown_trace"
    assert s.state.model_dump(mode="json") == before
