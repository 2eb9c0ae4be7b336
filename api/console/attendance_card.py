"""The episode page's attendance card: schedule, hours a week against the level's minimum,
missed sessions and the no-show fee (issue 12)."""

from __future__ import annotations

from api.console.page import esc
from domain.views import AttendanceView, ClaimView

BELOW = '<span class="badge bad">below minimum</span>'


def attendance_card(attendance: AttendanceView | None) -> str:
    if attendance is None:
        return ""
    schedule = attendance.schedule
    plan = (
        f"{schedule.days_per_week} days a week, {esc(schedule.hours_per_day)} hours a day"
        if schedule is not None
        else "no schedule recorded"
    )
    rows = "".join(
        f"<tr><td>week of {esc(w.week)}</td><td>{esc(w.hours)} h</td>"
        f"<td>{esc(w.minimum) if w.minimum is not None else '—'}</td>"
        f"<td>{BELOW if w.below_minimum else ''}</td></tr>"
        for w in attendance.weeks
    )
    table = (
        "<table><thead><tr><th>Week</th><th>Attended</th><th>Minimum</th><th></th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    flag = (
        '<p><span class="badge warn">repeated no-shows</span> '
        f"{len(attendance.repeated_no_shows)} missed from {esc(attendance.repeated_no_shows[0])}: "
        "clinical review</p>"
        if attendance.repeated_no_shows
        else ""
    )
    fee = f" · no-show fees {esc(attendance.no_show_fees)}" if attendance.no_show_fees else ""
    return (
        '<section class="card" aria-labelledby="at-h"><h2 id="at-h">Attendance</h2>'
        f'<p class="small">{plan} · {attendance.attended} attended, {attendance.missed} missed, '
        f"{attendance.excused} excused{fee}</p>{flag}{table}</section>"
    )


def dropped_html(claim: ClaimView) -> str:
    """Lines left off a claim because they can never bill as recorded: void or correct them."""
    if not claim.dropped:
        return ""
    reasons = "<br>".join(f"<strong>{esc(r.code)}</strong>: {esc(r.detail)}" for r in claim.dropped)
    return f'<br><span class="small">Left off: {reasons}</span>'
