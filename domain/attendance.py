"""Program schedule and attendance: sessions attended, no-shows, hours a week (§1, §7)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import Field

from domain.model import Frozen, Service

AttendanceStatus = Literal["attended", "no_show", "late_cancel", "excused"]
# §7: a no-show or a late cancellation is never billed (and counts towards the clinical flag).
MISSED: frozenset[str] = frozenset({"no_show", "late_cancel"})

# §1: the least hours a week a level calls for (adults): IOP 2.1 nine, PHP 2.5 twenty. Both
# editions name the same floors for these levels; other levels have none here.
MIN_HOURS_PER_WEEK: dict[str, int] = {"2.1": 9, "2.5": 20}


class ProgramSchedule(Frozen):
    """The program's plan for this patient, e.g. 3 days a week, 3 hours a day."""

    days_per_week: int = Field(ge=1, le=7)
    hours_per_day: Decimal = Field(gt=0, le=24, max_digits=4, decimal_places=2)
    # ISO weekdays (1 Monday … 7 Sunday) the sessions fall on; empty: not fixed.
    weekdays: tuple[int, ...] = ()
    start: date | None = None


class SessionBilling(Frozen):
    """What billing needs to derive the service of an attended session (one step, not two)."""

    code: str = Field(default="", max_length=5)
    revenue_code: str = Field(pattern=r"^\d{4}$")
    units: int = Field(default=1, ge=1, le=96)
    modifiers: tuple[str, ...] = ()
    rendering_npi: str = Field(pattern=r"^\d{10}$")
    roster_signed: bool = True
    charge: Decimal = Field(ge=0, max_digits=12, decimal_places=2)


class AttendanceEntry(Frozen):
    """One scheduled session: attended (with minutes), no-show, late cancel or excused."""

    session_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    date: date
    status: AttendanceStatus
    minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    bill: SessionBilling | None = None

    def problems(self) -> list[str]:
        sid = self.session_id
        out = []
        if self.status == "attended" and self.minutes is None:
            out.append(f"{sid}: an attended session needs its minutes")
        if self.status != "attended" and self.minutes is not None:
            out.append(f"{sid}: only an attended session has minutes")
        if self.status != "attended" and self.bill is not None:
            # §7: a no-show or late cancel is never billed (Medicaid may not be charged).
            out.append(f"{sid}: a {self.status} session is never billed; drop `bill`")
        return out

    def service(self) -> Service | None:
        """The service an attended, billed session derives (its id is the session's)."""
        if self.status != "attended" or self.bill is None:
            return None
        return Service(
            service_id=self.session_id,
            date=self.date,
            minutes=self.minutes,
            **self.bill.model_dump(),
        )


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly_hours(entries: list[AttendanceEntry]) -> dict[date, Decimal]:
    """Attended hours per ISO week (Monday), for each week with a recorded session."""
    minutes: dict[date, int] = defaultdict(int)
    for entry in entries:
        attended = (entry.minutes or 0) if entry.status == "attended" else 0
        minutes[week_of(entry.date)] += attended
    return {
        week: (Decimal(m) / 60).quantize(Decimal("0.01")) for week, m in sorted(minutes.items())
    }


def weeks_below(entries: list[AttendanceEntry], minimum: int | None) -> list[tuple[date, Decimal]]:
    """Weeks whose attended hours fall below the level's minimum (§1)."""
    if minimum is None:
        return []
    return [(week, hours) for week, hours in weekly_hours(entries).items() if hours < minimum]


def repeated_missed(entries: list[AttendanceEntry], count: int, days: int) -> list[date]:
    """The missed sessions (no-show, late cancel) in the `days` up to the latest one, when
    there are at least `count` of them: a clinical flag for the therapist (§7)."""
    missed = sorted(e.date for e in entries if e.status in MISSED)
    if not missed:
        return []
    recent = [d for d in missed if d > missed[-1] - timedelta(days=days)]
    return recent if len(recent) >= count else []


# §7: Medicaid patients may not be charged for a missed session (CHIP too: our choice).
NO_FEE_PLANS: frozenset[str] = frozenset({"medicaid_ffs", "medicaid_managed_care", "chip"})


def no_show_fees(entries: list[AttendanceEntry], plan_type: str, fee: Decimal | None) -> Decimal:
    """What the patient owes for missed sessions under the payer's policy (never Medicaid)."""
    if fee is None or plan_type in NO_FEE_PLANS:
        return Decimal("0.00")
    return (fee * sum(1 for e in entries if e.status in MISSED)).quantize(Decimal("0.01"))


class WeekBelow(Frozen):
    """A week (from its Monday) attended below the level's minimum hours (§1)."""

    week: date
    hours: Decimal
    minimum: int


class AttendanceSummary(Frozen):
    """The attendance evidence a concurrent review / extension request carries (§5, issue 12):
    what the patient attended and missed, and the units used of the authorization extended."""

    first: date
    last: date
    days_attended: int
    sessions_attended: int
    hours_attended: Decimal
    no_shows: tuple[date, ...] = ()
    late_cancels: tuple[date, ...] = ()
    excused: int = 0
    schedule: ProgramSchedule | None = None
    level: str = ""
    weeks_below: tuple[WeekBelow, ...] = ()
    authorization_number: str | None = None
    units_used: int | None = None
    units_approved: int | None = None
    unit_type: str | None = None

    @property
    def missed(self) -> int:
        return len(self.no_shows) + len(self.late_cancels)


def summarize(
    entries: list[AttendanceEntry],
    schedule: ProgramSchedule | None,
    level: str,
) -> AttendanceSummary | None:
    """The attendance recorded so far, or None when none is (no evidence to send)."""
    if not entries:
        return None
    attended = [e for e in entries if e.status == "attended"]
    minutes = sum(e.minutes or 0 for e in attended)
    minimum = MIN_HOURS_PER_WEEK.get(level)
    return AttendanceSummary(
        first=min(e.date for e in entries),
        last=max(e.date for e in entries),
        days_attended=len({e.date for e in attended}),
        sessions_attended=len(attended),
        hours_attended=(Decimal(minutes) / 60).quantize(Decimal("0.01")),
        no_shows=tuple(sorted(e.date for e in entries if e.status == "no_show")),
        late_cancels=tuple(sorted(e.date for e in entries if e.status == "late_cancel")),
        excused=sum(1 for e in entries if e.status == "excused"),
        schedule=schedule,
        level=level,
        weeks_below=tuple(
            WeekBelow(week=week, hours=hours, minimum=minimum)
            for week, hours in weeks_below(entries, minimum)
            if minimum is not None
        ),
    )
