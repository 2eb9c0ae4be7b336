"""Why a claim is held: one `HoldReason` per rule, grouping the lines it concerns (§5–§7)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, timedelta

from domain.codes import (
    FIFTEEN_MINUTE_CODES,
    GROUP_CODES,
    GROUP_MODIFIER,
    NO_HCPCS_REVENUE_CODES,
    PER_DAY_CODES,
    PSYCHOTHERAPY_MINIMUM_MINUTES,
    PSYCHOTHERAPY_TIME_CODES,
    SETTINGS_WITHOUT_HCPCS,
    UNTIMED_CODES,
    UNTIMED_MINIMUM_MINUTES,
    fifteen_minute_units,
    psychotherapy_code_for,
)
from domain.ledger import Ledger, ledger, released_services
from domain.levels import base_level
from domain.model import HoldReason, Service
from domain.state import ClaimRecord, Episode

Lines = Sequence[Service]

# Reasons a line can never bill as recorded: it is left off the claim (with the reason shown
# to billing) instead of holding the claim's valid lines (issue 12; §6 45-minute minimum, §7
# CPT time rule). Missing minutes is our choice: the time code cannot be justified either.
NEVER_BILLABLE = ("below_minimum_minutes", "time_code_mismatch", "missing_minutes")


def never_billable(service: Service) -> list[str]:
    """The reasons (codes) `service` can never bill as recorded; empty when it can."""
    return _time_codes(service)


def dropped_reasons(state: Episode, services: Lines) -> tuple[HoldReason, ...]:
    """Why each never-billable line of `services` is left off, one reason per rule."""
    flagged: dict[str, list[Service]] = {}
    for service in services:
        for code in never_billable(service):
            flagged.setdefault(code, []).append(service)
    return _reasons(state, flagged, services)


def hold_reasons(
    state: Episode,
    services: Lines,
    exclude: ClaimRecord | None = None,
    replacing: bool = False,
) -> tuple[HoldReason, ...]:
    """Every reason that holds a claim for `services` (billable lines of one month, `exclude`
    being the held claim they come from); any one holds the whole claim."""
    book = ledger(state, services)
    flagged: dict[str, list[Service]] = {}
    for service in services:
        for code in _line_codes(state, service, book):
            flagged.setdefault(code, []).append(service)
    for service in _per_day_duplicates(state, services) if state.rules >= 2 else ():
        flagged.setdefault("per_day_code_repeated", []).append(service)
    if services and _earlier_month_waiting(state, services, exclude) is not None:
        flagged["earlier_month_unreleased"] = list(services)
    # Rules 3: a late month goes out on a claim of its own (claims.build_claim), never held.
    late = not replacing and state.rules < 3
    if services and late and later_month_sent(state, services) is not None:
        flagged["later_month_sent"] = list(services)
    return _reasons(state, flagged, services)


def _reasons(
    state: Episode, flagged: dict[str, list[Service]], claim: Lines
) -> tuple[HoldReason, ...]:
    return tuple(
        HoldReason(
            code=code,
            detail=detail(state, flagged[code], claim),
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
    if _is_group(service) and not service.roster_signed:
        codes.append("roster_unsigned")
    if _units_off_minutes(service):
        codes.append("units_exceed_minutes")
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


def _is_group(service: Service) -> bool:
    # §7: group sessions need a signed roster — the CPT group codes, and H-codes billed for a
    # group (HQ modifier), e.g. H0015-HQ, H2019-HQ.
    h_group = service.code.startswith("H") and GROUP_MODIFIER in service.modifiers
    return service.code in GROUP_CODES or h_group


def _units_off_minutes(service: Service) -> bool:
    """§6 units as the payer counts them: a 15-minute code's units follow its minutes."""
    if service.code not in FIFTEEN_MINUTE_CODES or service.minutes is None:
        return False
    return service.units != fifteen_minute_units(service.minutes)


def php_last_date(state: Episode) -> date | None:
    """§6 38363: the last PHP date — the PHP claim's through date, or else (issue 12) the end
    of the prior PHP authorization the patient stepped down from."""
    assert state.opened is not None
    opened = state.opened
    if opened.php_last_claim_through is not None:
        return opened.php_last_claim_through
    prior = opened.stepped_down_from
    if prior is not None and base_level(prior.level, opened.asam_edition) == "2.5":
        return prior.end
    return None


def php_step_up_date(state: Episode) -> date | None:
    """A step back up to PHP (discharge to 2.5) starts a PHP claim on the discharge date."""
    assert state.opened is not None
    discharge = state.discharge
    if discharge is None or discharge.to_level is None:
        return None
    if base_level(discharge.to_level, state.opened.asam_edition) != "2.5":
        return None
    return discharge.date


def _within_php_window(state: Episode, service: Service) -> bool:
    # §6: IOP (cc 92) and PHP claims for periods within N days of each other → 38363; both
    # before the IOP (step-down from PHP) and after it (step back up to PHP).
    window = timedelta(days=state.policy.php_overlap_days)
    before, after = php_last_date(state), php_step_up_date(state)
    if before is not None and service.date <= before + window:
        return True
    return after is not None and service.date >= after - window


def _per_day_duplicates(state: Episode, services: Lines) -> list[Service]:
    """§6: a per-diem / per-session code billed twice on one date (with the released lines of
    that date), or with more than one unit, is an overbilling risk: held for billing to void."""
    ours = {s.service_id for s in services}
    seen = [s for s in released_services(state) if s.service_id not in ours] + list(services)
    count = Counter((s.date, s.code) for s in seen if s.code in PER_DAY_CODES)
    return [
        s
        for s in services
        if s.code in PER_DAY_CODES and (count[(s.date, s.code)] > 1 or s.units > 1)
    ]


def month_of(day: date) -> tuple[int, int]:
    return day.year, day.month


def later_month_sent(state: Episode, services: Lines) -> tuple[int, int] | None:
    """§6: a month whose lines come after a later month's claim went out cannot take its place
    in the sequence (Medicare edits interim sequence consistency)."""
    month = min(month_of(s.date) for s in services)
    later = [
        month_of(min(state.services[sid].date for sid in c.service_ids if sid in state.services))
        for c in state.released_claims
        if any(sid in state.services for sid in c.service_ids)
    ]
    after = [m for m in later if m > month]
    return min(after) if after else None


def _earlier_month_waiting(
    state: Episode, services: Lines, exclude: ClaimRecord | None
) -> tuple[int, int] | None:
    """§6: claims go in month order; the earliest month with lines not yet released (on a held
    claim, or billable and unbilled) that is before this claim's month, if any."""
    month = min(month_of(s.date) for s in services)
    ours = {s.service_id for s in services}
    skip = exclude.claim_id if exclude is not None else None
    waiting = [
        month_of(state.services[sid].date)
        for c in state.held_claims
        if c.claim_id != skip
        for sid in c.service_ids
        if sid in state.services
    ]
    billed = state.billed_service_ids
    waiting += [
        month_of(s.date)
        for s in state.services.values()
        if s.service_id not in billed and s.service_id not in ours and not never_billable(s)
    ]
    earlier = [m for m in waiting if m < month]
    return min(earlier) if earlier else None


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


def _no_authorization(state: Episode, lines: Lines, claim: Lines) -> str:
    return (
        f"{_count(lines)} {_span(lines)} {_verb(lines, 'has', 'have')} no authorization "
        "yet; follow up on the "
        "authorization request — the claim is released by itself once the payer authorizes"
    )


def _outside_dates(state: Episode, lines: Lines, claim: Lines) -> str:
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


def _code_not_authorized(state: Episode, lines: Lines, claim: Lines) -> str:
    return (
        f"{_count(lines)} {_verb(lines, 'bills', 'bill')} {_codes(lines)}, which no "
        f"authorization covers {_span(lines)}; "
        "ask the payer to add the code to the authorization or correct the line's code"
    )


def _units_exhausted(state: Episode, lines: Lines, claim: Lines) -> str:
    used = ledger(state, claim).used
    usage = ", ".join(
        f"{a.number}: {used.get(a.number, 0)} of {a.units} {a.unit_type}"
        for a in state.authorizations
        if any(a.covers(s.date, s.code, s.revenue_code) for s in lines)
    )
    return (
        f"{_count(lines)} {_span(lines)} {_verb(lines, 'goes', 'go')} beyond the approved units "
        f"({usage} used with this claim's other lines); "
        "request more units in a concurrent review"
    )


def _php_overlap(state: Episode, lines: Lines, claim: Lines) -> str:
    assert state.opened is not None
    days = state.policy.php_overlap_days
    before, after = php_last_date(state), php_step_up_date(state)
    sides = []
    if before is not None:
        source = "PHP claim" if state.opened.php_last_claim_through else "PHP authorization"
        sides.append(f"the last PHP date {before} ({source})")
    if after is not None:
        sides.append(f"the step back up to PHP on {after}")
    payer = "Medicare returns" if _is_medicare(state) else "the payer may return"
    return (
        f"{_count(lines)} {_span(lines)} {_verb(lines, 'falls', 'fall')} within {days} "
        f"days of {' and '.join(sides)}; {payer} an IOP claim that overlaps PHP (reason "
        "38363) — confirm the PHP claim's dates before billing these days"
    )


def _roster_unsigned(state: Episode, lines: Lines, claim: Lines) -> str:
    return (
        f"{_count(lines)} of group therapy ({_codes(lines)}) {_span(lines)} "
        f"{_verb(lines, 'has', 'have')} no signed "
        "attendance roster; get the roster signed — an unsigned roster can deny the whole day"
    )


def _below_minimum(state: Episode, lines: Lines, claim: Lines) -> str:
    examples = ", ".join(f"{s.service_id} {s.code} for {s.minutes} min" for s in lines)
    return (
        f"{_count(lines)} {_verb(lines, 'is', 'are')} too short to bill ({examples}): "
        "untimed codes need "
        f"{UNTIMED_MINIMUM_MINUTES} minutes and psychotherapy {PSYCHOTHERAPY_MINIMUM_MINUTES}; "
        "leave these sessions off the claim or correct the minutes"
    )


def _time_code_mismatch(state: Episode, lines: Lines, claim: Lines) -> str:
    examples = ", ".join(
        f"{s.service_id} billed {s.code} for {s.minutes} min, which calls for "
        f"{psychotherapy_code_for(s.minutes or 0)}"
        for s in lines
    )
    verb = _verb(lines, "bills", "bill")
    return f"{_count(lines)} {verb} the wrong psychotherapy time code ({examples}); correct it"


def _missing_minutes(state: Episode, lines: Lines, claim: Lines) -> str:
    return (
        f"{_count(lines)} of psychotherapy ({_codes(lines)}) {_span(lines)} "
        f"{_verb(lines, 'has', 'have')} no minutes; "
        "record the session length, which decides the code under CPT's time rule"
    )


def _per_day_repeated(state: Episode, lines: Lines, claim: Lines) -> str:
    examples = ", ".join(f"{s.service_id} {s.code} on {s.date} ({s.units} unit)" for s in lines)
    return (
        f"{_count(lines)} {_verb(lines, 'bills', 'bill')} a per-diem or per-session code more "
        "than once a date or with "
        f"more than one unit ({examples}): an overbilling risk — void the duplicate or correct "
        "the units"
    )


def _units_off(state: Episode, lines: Lines, claim: Lines) -> str:
    examples = ", ".join(
        f"{s.service_id} {s.code} {s.units} units for {s.minutes} min "
        f"(payer counts {fifteen_minute_units(s.minutes or 0)})"
        for s in lines
    )
    return (
        f"{_count(lines)} {_verb(lines, 'reports', 'report')} units their minutes do not "
        f"support ({examples}); 15-minute "
        "units follow the 8-minute rule — correct the units or the minutes"
    )


def _month_waits(state: Episode, lines: Lines, claim: Lines) -> str:
    earlier = _earlier_month_waiting(state, claim, None)
    month = min(month_of(s.date) for s in lines)
    waits = f"{earlier[0]}-{earlier[1]:02d}" if earlier else "an earlier month"
    return (
        f"the {month[0]}-{month[1]:02d} claim waits for the {waits} claim to be released first: "
        "claims go one per calendar month in month order (frequency 2, 3 …, 4) — it goes "
        "by itself once that month is released"
    )


def _later_sent(state: Episode, lines: Lines, claim: Lines) -> str:
    later = later_month_sent(state, claim)
    month = min(month_of(s.date) for s in claim)
    shown = f"{later[0]}-{later[1]:02d}" if later else "a later month"
    return (
        f"the {month[0]}-{month[1]:02d} lines were recorded after the {shown} claim went out; "
        "claims go in month order, so this month cannot join the sequence by itself — void "
        "the lines or ask the payer how to bill the late charges"
    )


def _missing_hcpcs(state: Episode, lines: Lines, claim: Lines) -> str:
    assert state.opened is not None
    return (
        f"{_count(lines)} {_span(lines)} {_verb(lines, 'has', 'have')} no HCPCS/CPT code, which a "
        f"{state.opened.setting} claim must report; add the code"
    )


_DETAILS: dict[str, Callable[[Episode, Lines, Lines], str]] = {
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
    "per_day_code_repeated": _per_day_repeated,
    "units_exceed_minutes": _units_off,
    "earlier_month_unreleased": _month_waits,
    "later_month_sent": _later_sent,
}
