"""The episode state diagram, found by driving the real decider through every command it takes."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from devstack.demo import DemoEpisode, episode_body
from domain import commands as c
from domain.decider import decide, fold
from domain.errors import Rejected
from domain.model import TERMINAL_STATES, PayerDecision, Service
from domain.state import Episode

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
# Plan types whose policies differ in ways that change the graph (deemed denials, self-pay).
PLANS = ("medicaid_managed_care", "commercial", "self_pay")
PAYER_ACTIONS = ("A1", "A2", "A3", "A4", "A6", "C", "CT", "NA")
MAX_NODES = 5000


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    label: str


def transitions() -> list[Transition]:
    """Every (state, state, command) step the decider takes, from a breadth-first search."""
    found: set[Transition] = set()
    seen: set[tuple[Any, ...]] = set()
    queue: deque[tuple[Episode, datetime]] = deque([(Episode(), T0)])
    while queue and len(seen) < MAX_NODES:
        state, now = queue.popleft()
        for label, command, at in _commands(state, now):
            try:
                after = fold(decide(state, command, at), state)
            except Rejected:
                continue
            if after.status != state.status:
                found.add(Transition(state.status, after.status, label))
            key = _shape(after)
            if key not in seen:
                seen.add(key)
                queue.append((after, at))
    return sorted(found, key=lambda t: (t.source, t.target, t.label))


def mermaid(steps: list[Transition] | None = None) -> str:
    """A Mermaid `stateDiagram-v2`; parallel steps share one arrow with their labels joined."""
    labels: dict[tuple[str, str], list[str]] = {}
    for step in steps if steps is not None else transitions():
        labels.setdefault((step.source, step.target), []).append(step.label)
    lines = ["stateDiagram-v2", "    [*] --> referred"]
    for (source, target), names in sorted(labels.items()):
        lines.append(f"    {source} --> {target}: {', '.join(sorted(set(names)))}")
    lines.extend(f"    {terminal} --> [*]" for terminal in sorted(TERMINAL_STATES))
    return "\n".join(lines) + "\n"


def _shape(state: Episode) -> tuple[Any, ...]:
    """What distinguishes two states for the graph; dates and ids do not."""
    pending = state.pending
    return (
        state.opened.payer.plan_type if state.opened else None,
        state.status,
        (pending.purpose, pending.awaiting_information, pending.escalations) if pending else None,
        (state.denial.purpose, state.denial.deemed) if state.denial else None,
        state.p2p_requested,
        state.p2p_call_at is not None,
        state.p2p_missed_calls,
        state.p2p_outcome,
        state.appeal_level,
        state.appeal_outcome,
        len(state.authorizations),
        len(state.ended_authorizations),
        len(state.services),
        tuple(sorted((k, v.status) for k, v in state.claims.items())),
        state.discharge is not None,
        tuple(sorted(state.deadlines)),
    )


def _commands(state: Episode, now: datetime) -> Iterator[tuple[str, Any, datetime]]:
    if not state.is_open:
        for plan in PLANS:
            body = episode_body(
                DemoEpisode("chart-1", "sim-chart", plan, "Chart Patient"), now.date()
            )
            # Far from the last PHP claim, so a first IOP claim is not held for the overlap rule.
            body["php_last_claim_through"] = (now.date() - timedelta(days=30)).isoformat()
            yield "open", c.OpenEpisode.model_validate(body), now
        return
    later = now + timedelta(hours=1)
    if state.pending is not None:
        for action in PAYER_ACTIONS:
            yield f"payer {action}", _decision(state, action, later), later
    yield "information provided", c.ProvideInformation(note="records sent"), later
    yield "request P2P", c.RequestP2P(), later
    yield "schedule P2P", c.ScheduleP2P(at=later + timedelta(days=1)), later
    for outcome in ("overturned", "upheld"):
        yield f"P2P {outcome}", c.RecordP2POutcome(outcome=outcome), later
        yield f"appeal {outcome}", c.RecordAppealOutcome(outcome=outcome), later
    yield "file appeal", c.FileAppeal(), later
    yield "services", c.RecordServices(services=(_service(state),)), later
    claim_id = f"C-{len(state.claims) + 1}"
    yield "release claim", c.ReleaseClaim(claim_id=claim_id, through=later.date()), later
    discharge = c.Discharge(date=later.date(), patient_status="01", disposition="completed")
    yield "discharge", discharge, later
    yield "cancel", c.Cancel(reason="patient moved"), later
    for kind, due in state.deadlines.items():
        yield f"clock: {kind}", c.DeadlineReached(kind=kind, due=due), max(now, due)


def _decision(state: Episode, action: str, at: datetime) -> c.ApplyPayerDecision:
    assert state.opened is not None and state.pending is not None
    requested = state.opened.requested
    number = state.authorizations[-1].number if state.authorizations else "AUTH-1"
    fields: dict[str, Any] = {"trace_number": state.pending.trace_number, "action": action}
    if action in ("A1", "A2", "A6"):
        start = max(requested.start, at.date())
        end = start + timedelta(days=27)
        fields |= {"authorization_number": number, "start": start, "end": end, "units": 20}
    decision = PayerDecision.model_validate(fields)
    return c.ApplyPayerDecision(delivery_id=f"d-{state.version}-{action}", decision=decision)


def _service(state: Episode) -> Service:
    assert state.opened is not None
    return Service(
        service_id=f"S-{len(state.services) + 1}",
        date=state.opened.requested.start,
        code="90853",
        revenue_code="0905",
        minutes=60,
        units=1,
        rendering_npi="1234567893",
        roster_signed=True,
        charge=Decimal("80.00"),
    )
