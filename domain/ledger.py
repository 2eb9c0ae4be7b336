"""The units ledger: which authorization each released service draws on, and how much (§5)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from domain.model import Authorization, Service
from domain.state import Episode


@dataclass(frozen=True)
class Ledger:
    """`allocation`: service_id → authorization number; `used`: number → units used.

    A service missing from `allocation` has no authorization with room for it.
    """

    allocation: dict[str, str]
    used: dict[str, int]


@dataclass
class _Account:
    """What one authorization has given so far: units, the dates drawn, minutes per date."""

    used: int = 0
    days: set[date] = field(default_factory=set)
    minutes: dict[date, int] = field(default_factory=dict)


def _ceil_hours(minutes: int) -> int:
    return -(-minutes // 60)


def _cost(service: Service, auth: Authorization, account: _Account) -> int:
    """What `service` takes from `auth` in the authorization's own unit type."""
    match auth.unit_type:
        case "days":  # one per attended day, however many services that day
            return 0 if service.date in account.days else 1
        case "sessions":
            return 1
        case "units_15min":
            return service.units
        case "hours":
            if service.minutes is None:
                return service.units
            # §6 units as the payer counts them: a day's minutes are summed, then rounded up
            # to hours — never rounded per session (two 40-minute sessions are 2 hours, not 2+).
            before = account.minutes.get(service.date, 0)
            return _ceil_hours(before + service.minutes) - _ceil_hours(before)


def ledger(state: Episode, candidates: Iterable[Service] = ()) -> Ledger:
    """Units are consumed only by released lines (issue 12, §5): released claims' services
    first, in the order the claims were released, then `candidates` (lines a claim would
    release) in (date, service_id) order, each to the first authorization (by start) that
    covers it with room left. Held, dropped and voided lines take nothing."""
    auths = sorted(state.authorizations, key=lambda a: a.start)
    accounts = {a.number: _Account() for a in auths}
    allocation: dict[str, str] = {}
    for service in _allocation_order(state, candidates):
        for auth in auths:
            if not auth.covers(service.date, service.code, service.revenue_code):
                continue
            account = accounts[auth.number]
            cost = _cost(service, auth, account)
            if account.used + cost <= auth.units:
                allocation[service.service_id] = auth.number
                account.used += cost
                account.days.add(service.date)
                if service.minutes is not None:
                    day_minutes = account.minutes.get(service.date, 0)
                    account.minutes[service.date] = day_minutes + service.minutes
                break
    return Ledger(allocation=allocation, used={n: a.used for n, a in accounts.items()})


def released_services(state: Episode) -> list[Service]:
    """Services on released claims, claim by claim in release order, each by date."""
    out: list[Service] = []
    for record in state.claims.values():
        if record.status != "released":
            continue
        lines = [state.services[sid] for sid in record.service_ids if sid in state.services]
        out.extend(sorted(lines, key=lambda s: (s.date, s.service_id)))
    return out


def _allocation_order(state: Episode, candidates: Iterable[Service]) -> Iterator[Service]:
    released = released_services(state)
    seen = {s.service_id for s in released}
    yield from released
    rest = [s for s in candidates if s.service_id not in seen]
    yield from sorted(rest, key=lambda s: (s.date, s.service_id))


def units_summary(state: Episode) -> tuple[int, int, int]:
    """(approved, used, remaining) over every authorization; used counts released lines only."""
    approved = sum(a.units for a in state.authorizations)
    used = sum(ledger(state).used.values())
    return approved, used, approved - used
