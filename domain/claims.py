"""Billing rules: which attended services are kept, the units they use, and whether a claim
goes out or is held (DOMAIN §5–§7). Pure functions over an `Episode`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from domain import events as ev
from domain.codes import (
    KNOWN_CODES,
    NO_HCPCS_REVENUE_CODES,
    NOT_COUNTED_REVENUE_PREFIXES,
    REVENUE_CODES,
    SETTINGS_WITHOUT_HCPCS,
    STILL_A_PATIENT,
    TYPE_OF_BILL_PREFIX,
    npi_is_valid,
    pair_in_table,
)
from domain.errors import Rejected
from domain.events import EpisodeOpened
from domain.holds import (
    dropped_reasons,
    hold_reasons,
    later_month_sent,
    month_of,
    never_billable,
)
from domain.ledger import Ledger, ledger, units_summary
from domain.model import Claim, ClaimLine, HoldReason, Service
from domain.state import ClaimRecord, Episode

__all__ = [
    "Held",
    "Ledger",
    "LineProblem",
    "Released",
    "ServiceCheck",
    "build_claim",
    "check_services",
    "day_classes",
    "gate",
    "ledger",
    "pair_warning",
    "regate",
    "units_summary",
]


@dataclass(frozen=True)
class LineProblem:
    """Why one recorded service line was rejected or warned about; `code` is for machines."""

    service_id: str
    code: str
    detail: str


@dataclass(frozen=True)
class ServiceCheck:
    accepted: tuple[Service, ...] = ()
    duplicates: tuple[str, ...] = ()
    rejected: tuple[LineProblem, ...] = ()
    warnings: tuple[LineProblem, ...] = ()


@dataclass(frozen=True)
class Released:
    claim: Claim
    service_ids: tuple[str, ...]
    dropped: tuple[HoldReason, ...] = ()
    supersedes: str | None = None
    replaces: str | None = None


@dataclass(frozen=True)
class Held:
    """`reasons` is empty only when every line was dropped (nothing billable is left)."""

    reasons: tuple[HoldReason, ...]
    service_ids: tuple[str, ...]
    dropped: tuple[HoldReason, ...] = ()
    supersedes: str | None = None
    replaces: str | None = None


def _opened(state: Episode) -> EpisodeOpened:
    if state.opened is None:
        raise Rejected("invalid_state", "the episode is not open")
    return state.opened


# ---- recording services -------------------------------------------------------------------


def check_services(state: Episode, services: Sequence[Service], now: datetime) -> ServiceCheck:
    """Sort a batch into accepted, duplicate (idempotent on service_id) and rejected lines."""
    _opened(state)
    accepted: list[Service] = []
    duplicates: list[str] = []
    rejected: list[LineProblem] = []
    # Idempotent on service_id: a repeat of a recorded service, or of a line earlier in this
    # batch, is a duplicate when identical (whatever became of the first) and refused if not.
    seen = dict(state.services)
    for service in services:
        if service.service_id in state.voided_services:
            rejected.append(_voided(service.service_id))
            continue
        if service.service_id in state.missed_sessions:
            # §7: a no-show or late cancellation is never billed.
            detail = f"session {service.service_id} was a no-show or late cancel; never billed"
            rejected.append(LineProblem(service.service_id, "no_show", detail))
            continue
        earlier = seen.get(service.service_id)
        if earlier is not None:
            if earlier == service:
                duplicates.append(service.service_id)
            else:
                rejected.append(
                    _conflict(service, in_batch=service.service_id not in state.services)
                )
            continue
        seen[service.service_id] = service
        problems = _line_problems(state, service, now.date())
        rejected.extend(problems)
        if not problems:
            accepted.append(service)
    warnings = [
        LineProblem(s.service_id, "pair_outside_table", w)
        for s in accepted
        if (w := pair_warning(state, s))
    ]
    return ServiceCheck(tuple(accepted), tuple(duplicates), tuple(rejected), tuple(warnings))


def _voided(sid: str) -> LineProblem:
    detail = f"service {sid} was voided and its id stays taken; record the service under a new id"
    return LineProblem(sid, "service_id_conflict", detail)


def _conflict(service: Service, in_batch: bool) -> LineProblem:
    sid = service.service_id
    if in_batch:
        detail = (
            f"service_id {sid} appears twice in this batch with different details; send it once"
        )
    else:
        detail = (
            f"service {sid} was already recorded with different details; correct it with "
            "POST /episodes/{id}/services/{service_id}/correct instead of recording it again"
        )
    return LineProblem(sid, "service_id_conflict", detail)


def _line_problems(state: Episode, service: Service, today: date) -> list[LineProblem]:
    opened = _opened(state)
    setting, day, code, rev = opened.setting, service.date, service.code, service.revenue_code
    first = min(opened.at.date(), opened.requested.start)
    discharged = state.discharge.date if state.discharge is not None else None
    checks = [
        (not npi_is_valid(service.rendering_npi), "invalid_npi",
         f"rendering NPI {service.rendering_npi} fails its check digit; "
         "correct it from the clinician's NPPES record"),
        (bool(code) and code not in KNOWN_CODES, "unknown_code",
         f"{code} is not a known HCPCS/CPT code for IOP billing; correct the code"),
        (rev not in REVENUE_CODES, "unknown_revenue_code",
         f"revenue code {rev} is not an IOP revenue code "
         "(0250, 043X, 0900, 0904–0906, 0914–0916, 0918, 0942); correct it"),
        (rev in REVENUE_CODES and _needs_hcpcs(setting, service), "missing_hcpcs",
         f"a {setting} line on revenue code {rev} must report an HCPCS/CPT code; add the code"),
        (day < first, "before_episode",
         f"{day} is before the episode opened on {first}; "
         "bill earlier services under the prior level of care"),
        (discharged is not None and day > discharged, "after_discharge",
         f"{day} is after the discharge on {discharged}; correct the date"),
        (day > today, "future_date", f"{day} is in the future; record a service once attended"),
    ]  # fmt: skip
    return [LineProblem(service.service_id, c, detail) for failed, c, detail in checks if failed]


def _needs_hcpcs(setting: str, service: Service) -> bool:
    # §6: CAHs report no HCPCS; 0250 (drugs) carries none in any setting.
    exempt = setting in SETTINGS_WITHOUT_HCPCS or service.revenue_code in NO_HCPCS_REVENUE_CODES
    return not exempt and not service.code


def pair_warning(state: Episode, service: Service) -> str | None:
    """§6: Medicare does not edit the revenue code / HCPCS match, so a stray pair only warns."""
    if _opened(state).setting in SETTINGS_WITHOUT_HCPCS:
        return None  # a CAH reports no HCPCS, so there is no pair on its claim
    if pair_in_table(service.revenue_code, service.code):
        return None
    shown = f"HCPCS {service.code}" if service.code else "no HCPCS code"
    # Only Medicare is known not to edit the pair; another payer may deny the line for it.
    consequence = (
        "Medicare does not check this pairing, but check the revenue code"
        if _opened(state).payer.plan_type == "medicare_advantage"
        else "the payer may deny the line; check the revenue code"
    )
    return (
        f"revenue code {service.revenue_code} is not usually billed with {shown} for "
        f"IOP; {consequence}"
    )


# ---- the release gate ---------------------------------------------------------------------


def gate(state: Episode, through: date) -> Released | Held:
    """The claim for the unbilled services up to `through`, one calendar month at a time (§6).

    Lines that can never bill are left off (with their reason) rather than holding the rest;
    a month that already has a claim gets a newer one carrying all its lines: a held claim is
    superseded by it, a released one replaced by it (frequency 7; our choice, §6)."""
    _opened(state)
    billed = state.billed_service_ids
    due = [s for s in state.services.values() if s.service_id not in billed and s.date <= through]
    billable = [s for s in due if not never_billable(s)]
    if not billable:
        raise Rejected("nothing_to_bill", _nothing_to_bill(state, due, through))
    month = min(month_of(s.date) for s in billable)
    lines = [s for s in due if month_of(s.date) == month]
    existing = month_claim(state, month)
    if existing is None:
        return _verdict(state, lines)
    if existing.status == "held":
        own = [state.services[sid] for sid in existing.service_ids if sid in state.services]
        replaces = state.claims.get(existing.replaces) if existing.replaces else None
        return _verdict(state, [*own, *lines], supersedes=existing, replaces=replaces)
    return _verdict(state, lines, replaces=existing)


def _nothing_to_bill(state: Episode, due: Sequence[Service], through: date) -> str:
    if due:
        ids = ", ".join(s.service_id for s in due)
        return (
            f"the unbilled services on or before {through} can never bill as recorded ({ids}); "
            "correct or void them"
        )
    return (
        f"no unbilled services are recorded on or before {through}; "
        "record the attended services first or choose a later through date"
    )


def month_claim(state: Episode, month: tuple[int, int]) -> ClaimRecord | None:
    """The live claim of a calendar month, if any: a held one (lines join it) before the
    released one (a replacement then carries all the month's lines)."""
    live = []
    for record in state.claims.values():
        if record.status == "superseded":
            continue
        days = [state.services[sid].date for sid in record.service_ids if sid in state.services]
        if days and month_of(min(days)) == month:
            live.append(record)
    return min(live, key=lambda r: r.status != "held", default=None)


def regate(state: Episode, record: ClaimRecord) -> Released | Held:
    """A held claim's own services, gated again (new coverage may have arrived)."""
    services = [state.services[sid] for sid in record.service_ids if sid in state.services]
    if not services:
        raise Rejected("nothing_to_bill", f"claim {record.claim_id} holds no recorded service")
    replaces = state.claims.get(record.replaces) if record.replaces else None
    return _verdict(state, services, record=record, replaces=replaces)


def _verdict(
    state: Episode,
    services: Iterable[Service],
    *,
    record: ClaimRecord | None = None,
    supersedes: ClaimRecord | None = None,
    replaces: ClaimRecord | None = None,
) -> Released | Held:
    ordered = sorted(services, key=lambda s: (s.date, s.service_id))
    dropped = dropped_reasons(state, ordered)
    keep = [s for s in ordered if not never_billable(s)]
    ids = tuple(s.service_id for s in keep)
    superseded = supersedes.claim_id if supersedes is not None else None
    replaced = replaces.claim_id if replaces is not None else None
    exclude = record or supersedes
    reasons = hold_reasons(state, keep, exclude, replacing=replaces is not None) if keep else ()
    if not keep:
        return Held((), ids, dropped, superseded, replaced)
    if reasons:
        return Held(reasons, ids, dropped, superseded, replaced)
    if replaces is not None:
        old = [state.services[sid] for sid in replaces.service_ids if sid in state.services]
        lines = sorted([*old, *keep], key=lambda s: (s.date, s.service_id))
        claim = build_claim(state, lines, replaces=replaces.claim_id)
        # Rules 4: the held replacement these lines join is superseded by this one; under
        # earlier rules it stayed held, and released its lines again when regated.
        gone = superseded if state.rules >= 4 else None
        return Released(claim, tuple(s.service_id for s in lines), dropped, gone, replaced)
    return Released(build_claim(state, keep), ids, dropped, superseded, None)


def released_claim_event(
    verdict: Released, claim_id: str, now: datetime, was_held: bool = False
) -> list[ev.Event]:
    """The events of a released verdict: the superseded held claim, then the release."""
    out: list[ev.Event] = []
    if verdict.supersedes is not None:
        out.append(ev.ClaimSuperseded(at=now, claim_id=verdict.supersedes, by=claim_id))
    if verdict.replaces is not None:
        # The frequency-7 replacement carries every line of the claim it replaces (§6).
        out.append(ev.ClaimSuperseded(at=now, claim_id=verdict.replaces, by=claim_id))
    out.append(
        ev.ClaimReleased(
            at=now,
            claim_id=claim_id,
            claim=verdict.claim,
            service_ids=verdict.service_ids,
            was_held=was_held,
            dropped=verdict.dropped,
        )
    )
    return out


def held_claim_event(verdict: Held, claim_id: str, through: date, now: datetime) -> list[ev.Event]:
    """The events of a held verdict; a claim left with no billable line is withdrawn."""
    out: list[ev.Event] = []
    if verdict.supersedes is not None:
        out.append(ev.ClaimSuperseded(at=now, claim_id=verdict.supersedes, by=claim_id))
    if not verdict.service_ids:
        out.append(ev.ClaimSuperseded(at=now, claim_id=claim_id, by=""))
        return out
    out.append(
        ev.ClaimHeld(
            at=now,
            claim_id=claim_id,
            through=through,
            service_ids=verdict.service_ids,
            reasons=verdict.reasons,
            dropped=verdict.dropped,
            replaces=verdict.replaces,
        )
    )
    return out


# ---- building the claim -------------------------------------------------------------------

# §6 frequency digit by (final, an earlier month was released); 7 replaces a sent claim.
_FREQUENCY = {(True, False): "1", (True, True): "4", (False, False): "2", (False, True): "3"}
REPLACEMENT_FREQUENCY = "7"
_DEPARTMENT_MODIFIER = {"non_excepted_off_campus": "PN", "excepted_off_campus": "PO"}
IOP_CONDITION_CODE = "92"


def build_claim(
    state: Episode, services: Sequence[Service], *, replaces: str | None = None
) -> Claim:
    """The institutional claim for `services` (in date order), assuming nothing holds it."""
    opened = _opened(state)
    month = month_of(services[0].date)
    # A month whose lines came after a later month's claim went out (rules 3): its own claim,
    # interim by its place in the sequence — never the last, since a later month is out.
    later = None if replaces else later_month_sent(state, services)
    final = later is None and _is_final(state, services)
    earlier = any(_record_month(state, c) < month for c in state.released_claims)
    frequency = REPLACEMENT_FREQUENCY if replaces else _FREQUENCY[(final, earlier)]
    if replaces:
        final = state.claims[replaces].claim is not None and _replaced_final(state, replaces)
    discharge = state.discharge
    status = discharge.patient_status if final and discharge is not None else STILL_A_PATIENT
    book = ledger(state, services)
    lines = tuple(_claim_line(opened, s, book.allocation.get(s.service_id)) for s in services)
    warnings = tuple(f"{s.service_id}: {w}" for s in services if (w := pair_warning(state, s)))
    warnings += _authorization_warnings(lines)
    if later is not None:
        warnings += (_late_month_warning(month, later),)
    return Claim(
        type_of_bill=TYPE_OF_BILL_PREFIX[opened.setting] + frequency,
        condition_codes=(IOP_CONDITION_CODE,),  # §6: cc 92 on every IOP claim
        patient_status=status,
        from_=lines[0].date,
        through=lines[-1].date,
        lines=lines,
        day_classes=day_classes(services),
        warnings=warnings,
        authorization_number=_main_authorization(lines),
        replaces=replaces,
    )


def _late_month_warning(month: tuple[int, int], later: tuple[int, int]) -> str:
    return (
        f"the {month[0]}-{month[1]:02d} lines were recorded after the {later[0]}-{later[1]:02d} "
        "claim went out, so this month's claim follows it out of month order; Medicare edits "
        "interim sequences — if the payer returns it, cancel and rebill the later months in order"
    )


def _record_month(state: Episode, record: ClaimRecord) -> tuple[int, int]:
    days = [state.services[sid].date for sid in record.service_ids if sid in state.services]
    return month_of(min(days, default=record.through))


def _replaced_final(state: Episode, claim_id: str) -> bool:
    claim = state.claims[claim_id].claim
    return claim is not None and claim.patient_status != STILL_A_PATIENT


def _main_authorization(lines: Sequence[ClaimLine]) -> str | None:
    """§8 REF*G1 at claim level: the authorization covering most lines (earliest on a tie)."""
    numbers = Counter(line.authorization_number for line in lines if line.authorization_number)
    if not numbers:
        return None
    first = {n: i for i, n in reversed(list(enumerate(x.authorization_number for x in lines)))}
    return min(numbers, key=lambda n: (-numbers[n], first[n]))


def _is_final(state: Episode, services: Sequence[Service]) -> bool:
    """Final once discharged with nothing left to bill after this claim. Services on other
    held claims still wait for a release, so they count as left (the sequence must close);
    lines that can never bill as recorded do not."""
    if state.discharge is None:
        return False
    released = {sid for c in state.released_claims for sid in c.service_ids}
    ours = {s.service_id for s in services}
    left = [
        s
        for s in state.services.values()
        if s.service_id not in released and s.service_id not in ours and not never_billable(s)
    ]
    return not left


def _authorization_warnings(lines: Sequence[ClaimLine]) -> tuple[str, ...]:
    numbers = sorted({line.authorization_number for line in lines if line.authorization_number})
    if len(numbers) < 2:
        return ()
    # §8: the 837I carries one prior authorization number (REF*G1) per claim.
    return (
        f"lines draw on authorizations {', '.join(numbers)}; the 837I reports one prior "
        "authorization number, so check the other lines with the payer",
    )


def _claim_line(opened: EpisodeOpened, service: Service, authorization: str | None) -> ClaimLine:
    modifiers = service.modifiers
    cah = opened.setting in SETTINGS_WITHOUT_HCPCS
    extra = _DEPARTMENT_MODIFIER.get(opened.department)
    # §6: PN/PO mark provider-based hospital departments, so only hospital outpatient bills.
    if opened.setting == "hospital_outpatient" and extra and extra not in modifiers:
        modifiers = (*modifiers, extra)
    return ClaimLine(
        service_id=service.service_id,
        revenue_code=service.revenue_code,
        hcpcs=None if cah else (service.code or None),
        modifiers=modifiers,
        date=service.date,
        # §6: a CAH reports visits, not time units: one visit a line (our reading).
        units=1 if cah else service.units,
        charge=service.charge,
        authorization_number=authorization,
    )


def day_classes(services: Iterable[Service]) -> dict[str, str]:
    """§6 APC classes: 4 or more services a day, 3 services, or fewer (not an IOP day),
    counted as the payer counts: lines with units on IOP revenue codes, not drugs or supplies."""
    per_day = Counter(
        s.date
        for s in services
        if s.units > 0 and not s.revenue_code.startswith(NOT_COUNTED_REVENUE_PREFIXES)
    )
    return {day.isoformat(): _day_class(count) for day, count in sorted(per_day.items())}


def _day_class(count: int) -> str:
    if count >= 4:
        return "iop_4plus"
    return "iop_3" if count == 3 else "not_iop_day"


def close_if_done(state: Episode, now: datetime) -> list[ev.Event]:
    """A discharged episode closes once every billable service is on a released claim (lines
    that can never bill as recorded do not keep it open)."""
    if state.status != "discharged":
        return []
    unbilled = set(state.services) - state.billed_service_ids
    if state.held_claims or any(not never_billable(state.services[sid]) for sid in unbilled):
        return []
    return [ev.EpisodeClosed(at=now, reason="discharged and every service billed")]
