"""Why a claim is held: one `HoldReason` per rule, grouping the lines it concerns (§5–§7)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from domain.codes import (
    GROUP_CODES,
    NO_HCPCS_REVENUE_CODES,
    PSYCHOTHERAPY_MINIMUM_MINUTES,
    PSYCHOTHERAPY_TIME_CODES,
    SETTINGS_WITHOUT_HCPCS,
    UNTIMED_CODES,
    UNTIMED_MINIMUM_MINUTES,
    psychotherapy_code_for,
)
from domain.ledger import Ledger, ledger
from domain.model import HoldReason, Service
from domain.state import Episode

Lines = Sequence[Service]


def hold_reasons(state: Episode, services: Lines) -> tuple[HoldReason, ...]:
    """Every reason that holds a claim for `services`; any one holds the whole claim."""
    book = ledger(state)
    flagged: dict[str, list[Service]] = {}
    for service in services:
        for code in _line_codes(state, service, book):
            flagged.setdefault(code, []).append(service)
    return tuple(
        HoldReason(
            code=code,
            detail=detail(state, flagged[code]),
            lines=tuple(s.service_id for s in flagged[code]),
        )
        for code, detail in _DETAILS.items()
        if code in flagged
    )


def _line_codes(state: Episode, service: Service, book: Ledger) -> list[str]:
    codes = []
    if service.service_id not in book.allocation:
        codes.append(_coverage_code(state, service))
    if _within_php_window(state, service):
        codes.append("php_overlap_38363")
    if service.code in GROUP_CODES and not service.roster_signed:
        codes.append("roster_unsigned")
    codes.extend(_time_codes(service))
    if _lacks_hcpcs(state, service):
        codes.append("missing_hcpcs")
    return codes


def _coverage_code(state: Episode, service: Service) -> str:
    """The line is outside the ledger's allocation: say which part of coverage is missing."""
    if not state.authorizations:
        return "no_authorization"
    dated = [a for a in state.authorizations if a.start <= service.date <= a.end]
    if not dated:
        return "outside_authorization_dates"
    if not any(a.covers(service.date, service.code, service.revenue_code) for a in dated):
        return "code_not_authorized"
    return "units_exhausted"


def _within_php_window(state: Episode, service: Service) -> bool:
    # §6: IOP (cc 92) and PHP claims for periods within N days of each other → 38363.
    assert state.opened is not None
    php_through = state.opened.php_last_claim_through
    if php_through is None:
        return False
    return service.date <= php_through + timedelta(days=state.policy.php_overlap_days)


def _time_codes(service: Service) -> list[str]:
    minutes = service.minutes
    if service.code in PSYCHOTHERAPY_TIME_CODES:
        if minutes is None:
            return ["missing_minutes"]
        calls_for = psychotherapy_code_for(minutes)  # §7: CPT's time rule
        if calls_for is None:
            return ["below_minimum_minutes"]
        return [] if calls_for == service.code else ["time_code_mismatch"]
    # §6: an untimed code's session under 45 minutes is not billed.
    if service.code in UNTIMED_CODES and minutes is not None and minutes < UNTIMED_MINIMUM_MINUTES:
        return ["below_minimum_minutes"]
    return []


def _lacks_hcpcs(state: Episode, service: Service) -> bool:
    # Recording already refuses these lines; kept for services recorded under older rules.
    assert state.opened is not None
    exempt = state.opened.setting in SETTINGS_WITHOUT_HCPCS
    return not (exempt or service.code or service.revenue_code in NO_HCPCS_REVENUE_CODES)


# ---- details: sentences a biller can act on ----------------------------------------------


def _count(lines: Lines) -> str:
    return "1 line" if len(lines) == 1 else f"{len(lines)} lines"


def _verb(lines: Lines, one: str, many: str) -> str:
    """The verb agreeing with _count: "1 line … has", "3 lines … have"."""
    return one if len(lines) == 1 else many


def _is_medicare(state: Episode) -> bool:
    return state.opened is not None and state.opened.payer.plan_type == "medicare_advantage"


def _span(lines: Lines) -> str:
    first, last = min(s.date for s in lines), max(s.date for s in lines)
    return f"on {first}" if first == last else f"from {first} to {last}"


def _codes(lines: Lines) -> str:
    return ", ".join(sorted({s.code or s.revenue_code for s in lines}))


def _no_authorization(state: Episode, lines: Lines) -> str:
    return (
        f"{_count(lines)} {_span(lines)} {_verb(lines, 'has', 'have')} no authorization "
        "yet; follow up on the "
        "authorization request — the claim is released by itself once the payer authorizes"
    )


def _outside_dates(state: Episode, lines: Lines) -> str:
    latest = max(state.authorizations, key=lambda a: a.end)
    earliest = min(state.authorizations, key=lambda a: a.start)
    if all(s.date > latest.end for s in lines):
        return (
            f"{_count(lines)} dated after authorization {latest.number} ended on "
            f"{latest.end}; request an extension or a new authorization"
        )
    if all(s.date < earliest.start for s in lines):
        return (
            f"{_count(lines)} dated before authorization {earliest.number} starts on "
            f"{earliest.start}; ask the payer for a retro-authorization or correct the dates"
        )
    periods = ", ".join(f"{a.number} {a.start} to {a.end}" for a in state.authorizations)
    return (
        f"{_count(lines)} {_span(lines)} {_verb(lines, 'falls', 'fall')} outside every "
        f"authorization ({periods}); "
        "request authorization for those dates or correct them"
    )


def _code_not_authorized(state: Episode, lines: Lines) -> str:
    return (
        f"{_count(lines)} {_verb(lines, 'bills', 'bill')} {_codes(lines)}, which no "
        f"authorization covers {_span(lines)}; "
        "ask the payer to add the code to the authorization or correct the line's code"
    )


def _units_exhausted(state: Episode, lines: Lines) -> str:
    used = ledger(state).used
    usage = ", ".join(
        f"{a.number}: {used.get(a.number, 0)} of {a.units} {a.unit_type}"
        for a in state.authorizations
        if any(a.covers(s.date, s.code, s.revenue_code) for s in lines)
    )
    return (
        f"{_count(lines)} {_span(lines)} {_verb(lines, 'goes', 'go')} beyond the approved units "
        f"({usage} used); "
        "request more units in a concurrent review"
    )


def _php_overlap(state: Episode, lines: Lines) -> str:
    assert state.opened is not None
    days = state.policy.php_overlap_days
    payer = "Medicare returns" if _is_medicare(state) else "the payer may return"
    return (
        f"{_count(lines)} {_span(lines)} {_verb(lines, 'falls', 'fall')} within {days} "
        f"days of the last PHP claim (through {state.opened.php_last_claim_through}); {payer} "
        "an IOP claim that overlaps PHP (reason 38363) — confirm the PHP claim's through date "
        "before billing these days"
    )


def _roster_unsigned(state: Episode, lines: Lines) -> str:
    return (
        f"{_count(lines)} of group therapy ({_codes(lines)}) {_span(lines)} "
        f"{_verb(lines, 'has', 'have')} no signed "
        "attendance roster; get the roster signed — an unsigned roster can deny the whole day"
    )


def _below_minimum(state: Episode, lines: Lines) -> str:
    examples = ", ".join(f"{s.service_id} {s.code} for {s.minutes} min" for s in lines)
    return (
        f"{_count(lines)} {_verb(lines, 'is', 'are')} too short to bill ({examples}): "
        "untimed codes need "
        f"{UNTIMED_MINIMUM_MINUTES} minutes and psychotherapy {PSYCHOTHERAPY_MINIMUM_MINUTES}; "
        "leave these sessions off the claim or correct the minutes"
    )


def _time_code_mismatch(state: Episode, lines: Lines) -> str:
    examples = ", ".join(
        f"{s.service_id} billed {s.code} for {s.minutes} min, which calls for "
        f"{psychotherapy_code_for(s.minutes or 0)}"
        for s in lines
    )
    verb = _verb(lines, "bills", "bill")
    return f"{_count(lines)} {verb} the wrong psychotherapy time code ({examples}); correct it"


def _missing_minutes(state: Episode, lines: Lines) -> str:
    return (
        f"{_count(lines)} of psychotherapy ({_codes(lines)}) {_span(lines)} "
        f"{_verb(lines, 'has', 'have')} no minutes; "
        "record the session length, which decides the code under CPT's time rule"
    )


def _missing_hcpcs(state: Episode, lines: Lines) -> str:
    assert state.opened is not None
    return (
        f"{_count(lines)} {_span(lines)} {_verb(lines, 'has', 'have')} no HCPCS/CPT code, which a "
        f"{state.opened.setting} claim must report; add the code"
    )


_DETAILS: dict[str, Callable[[Episode, Lines], str]] = {
    "no_authorization": _no_authorization,
    "outside_authorization_dates": _outside_dates,
    "code_not_authorized": _code_not_authorized,
    "units_exhausted": _units_exhausted,
    "php_overlap_38363": _php_overlap,
    "roster_unsigned": _roster_unsigned,
    "below_minimum_minutes": _below_minimum,
    "time_code_mismatch": _time_code_mismatch,
    "missing_minutes": _missing_minutes,
    "missing_hcpcs": _missing_hcpcs,
}
