"""Billing rules: which attended services are kept, the units they use, and whether a claim
goes out or is held (DOMAIN §5–§7). Pure functions over an `Episode`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from domain.codes import (
    KNOWN_CODES,
    NO_HCPCS_REVENUE_CODES,
    REVENUE_CODES,
    SETTINGS_WITHOUT_HCPCS,
    STILL_A_PATIENT,
    TYPE_OF_BILL_PREFIX,
    npi_is_valid,
    pair_in_table,
)
from domain.errors import Rejected
from domain.events import EpisodeOpened
from domain.holds import hold_reasons
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


@dataclass(frozen=True)
class Held:
    reasons: tuple[HoldReason, ...]
    service_ids: tuple[str, ...]


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


def _conflict(service: Service, in_batch: bool) -> LineProblem:
    sid = service.service_id
    if in_batch:
        detail = (
            f"service_id {sid} appears twice in this batch with different details; send it once"
        )
    else:
        detail = (
            f"service {sid} was already recorded with different details and recorded services "
            "cannot change; record the correction under a new service_id"
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
    """The claim for the unbilled services up to `through`, one calendar month at a time (§6)."""
    _opened(state)
    billed = state.billed_service_ids
    due = [s for s in state.services.values() if s.service_id not in billed and s.date <= through]
    if not due:
        raise Rejected(
            "nothing_to_bill",
            f"no unbilled services are recorded on or before {through}; "
            "record the attended services first or choose a later through date",
        )
    month = min(_month(s.date) for s in due)
    return _verdict(state, [s for s in due if _month(s.date) == month])


def regate(state: Episode, record: ClaimRecord) -> Released | Held:
    """A held claim's own services, gated again (new coverage may have arrived)."""
    services = [state.services[sid] for sid in record.service_ids if sid in state.services]
    if not services:
        raise Rejected("nothing_to_bill", f"claim {record.claim_id} holds no recorded service")
    return _verdict(state, services)


def _month(day: date) -> tuple[int, int]:
    return day.year, day.month


def _verdict(state: Episode, services: Iterable[Service]) -> Released | Held:
    ordered = sorted(services, key=lambda s: (s.date, s.service_id))
    ids = tuple(s.service_id for s in ordered)
    reasons = hold_reasons(state, ordered)
    if reasons:
        return Held(reasons, ids)
    return Released(build_claim(state, ordered), ids)


# ---- building the claim -------------------------------------------------------------------

# §6 frequency digit by (final, an earlier claim was released).
_FREQUENCY = {(True, False): "1", (True, True): "4", (False, False): "2", (False, True): "3"}
_DEPARTMENT_MODIFIER = {"non_excepted_off_campus": "PN", "excepted_off_campus": "PO"}
IOP_CONDITION_CODE = "92"


def build_claim(state: Episode, services: Sequence[Service]) -> Claim:
    """The institutional claim for `services` (in date order), assuming nothing holds it."""
    opened = _opened(state)
    final = _is_final(state, services)
    frequency = _FREQUENCY[(final, bool(state.released_claims))]
    discharge = state.discharge
    status = discharge.patient_status if final and discharge is not None else STILL_A_PATIENT
    lines = tuple(_claim_line(opened, s) for s in services)
    warnings = tuple(f"{s.service_id}: {w}" for s in services if (w := pair_warning(state, s)))
    return Claim(
        type_of_bill=TYPE_OF_BILL_PREFIX[opened.setting] + frequency,
        condition_codes=(IOP_CONDITION_CODE,),  # §6: cc 92 on every IOP claim
        patient_status=status,
        from_=lines[0].date,
        through=lines[-1].date,
        lines=lines,
        day_classes=day_classes(services),
        warnings=warnings,
    )


def _is_final(state: Episode, services: Sequence[Service]) -> bool:
    """Final once discharged with nothing left to bill after this claim. Services on other
    held claims still wait for a release, so they count as left (the sequence must close)."""
    if state.discharge is None:
        return False
    released = {sid for c in state.released_claims for sid in c.service_ids}
    left = set(state.services) - released - {s.service_id for s in services}
    return not left


def _claim_line(opened: EpisodeOpened, service: Service) -> ClaimLine:
    modifiers = service.modifiers
    extra = _DEPARTMENT_MODIFIER.get(opened.department)
    # §6: PN/PO mark provider-based hospital departments, so only hospital outpatient bills.
    if opened.setting == "hospital_outpatient" and extra and extra not in modifiers:
        modifiers = (*modifiers, extra)
    return ClaimLine(
        service_id=service.service_id,
        revenue_code=service.revenue_code,
        hcpcs=None if opened.setting in SETTINGS_WITHOUT_HCPCS else (service.code or None),
        modifiers=modifiers,
        date=service.date,
        units=service.units,
        charge=service.charge,
    )


def day_classes(services: Iterable[Service]) -> dict[str, str]:
    """§6 APC classes: 4 or more services a day, 3 services, or fewer (not an IOP day)."""
    per_day = Counter(s.date for s in services)
    return {day.isoformat(): _day_class(count) for day, count in sorted(per_day.items())}


def _day_class(count: int) -> str:
    if count >= 4:
        return "iop_4plus"
    return "iop_3" if count == 3 else "not_iop_day"
