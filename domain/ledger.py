"""The units ledger: which authorization each recorded service draws on, and how much (§5)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from domain.model import Authorization, Service
from domain.state import Episode


@dataclass(frozen=True)
class Ledger:
    """`allocation`: service_id → authorization number; `used`: number → units used.

    A recorded service missing from `allocation` has no authorization with room for it.
    """

    allocation: dict[str, str]
    used: dict[str, int]


def consumption(service: Service, auth: Authorization, days_used: frozenset[date]) -> int:
    """What `service` takes from `auth` in the authorization's own unit type."""
    match auth.unit_type:
        case "days":  # one per attended day, however many services that day
            return 0 if service.date in days_used else 1
        case "sessions":
            return 1
        case "units_15min":
            return service.units
        case "hours":
            return service.units if service.minutes is None else -(-service.minutes // 60)


def ledger(state: Episode) -> Ledger:
    """Allocate deterministically: released services first, so a later service recorded for
    an earlier date never takes the units a released claim already used; then the rest, each
    group in (date, service_id) order, each to the first authorization (by start) covering it
    with room left."""
    auths = sorted(state.authorizations, key=lambda a: a.start)
    used = {a.number: 0 for a in auths}
    days: dict[str, frozenset[date]] = {a.number: frozenset() for a in auths}
    allocation: dict[str, str] = {}
    for service in _allocation_order(state):
        for auth in auths:
            if not auth.covers(service.date, service.code, service.revenue_code):
                continue
            cost = consumption(service, auth, days[auth.number])
            if used[auth.number] + cost <= auth.units:
                allocation[service.service_id] = auth.number
                used[auth.number] += cost
                days[auth.number] |= {service.date}
                break
    return Ledger(allocation=allocation, used=used)


def _allocation_order(state: Episode) -> Iterator[Service]:
    released = {sid for c in state.released_claims for sid in c.service_ids}
    first = [s for s in state.services.values() if s.service_id in released]
    rest = [s for s in state.services.values() if s.service_id not in released]
    for group in (first, rest):
        yield from sorted(group, key=lambda s: (s.date, s.service_id))


def units_summary(state: Episode) -> tuple[int, int, int]:
    """(approved, used, remaining) over every authorization of the episode."""
    approved = sum(a.units for a in state.authorizations)
    used = sum(ledger(state).used.values())
    return approved, used, approved - used
