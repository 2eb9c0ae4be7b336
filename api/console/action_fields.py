"""The inputs of each episode action's form, refilled with what was typed and its errors."""

from __future__ import annotations

from datetime import UTC, datetime

from api.console.fields import choices, field, select, text_input, textarea
from domain.codes import PATIENT_STATUS, STILL_A_PATIENT

Form = dict[str, str]
Errors = dict[str, list[str]]
OUTCOMES = [("overturned", "overturned (approved)"), ("upheld", "upheld (denial stands)")]
DISPOSITIONS = ("step_down", "step_up", "completed", "left_ama", "other")
# 30 (still a patient) is a claim status, not a discharge: the domain refuses it.
STATUS_CHOICES = [
    (code, f"{code} — {text}") for code, text in PATIENT_STATUS.items() if code != STILL_A_PATIENT
]


def no_fields(form: Form, errors: Errors, scope: str) -> str:
    return ""


def schedule_fields(form: Form, errors: Errors, scope: str) -> str:
    at = text_input(
        "at",
        form.get("at", ""),
        kind="datetime-local",
        scope=scope,
        invalid="at" in errors,
        required="required",
    )
    reviewer = text_input("reviewer", form.get("reviewer", ""), scope=scope)
    return (
        field("at", "Call at (your local time)", at, errors, scope=scope)
        + '<input type="hidden" name="tz_offset" value="0" data-tz-offset>'
        + field("reviewer", "Payer's reviewer (optional)", reviewer, errors, scope=scope)
    )


def p2p_outcome_fields(form: Form, errors: Errors, scope: str) -> str:
    outcome = select(
        "outcome", OUTCOMES, form.get("outcome", ""), scope=scope, invalid="outcome" in errors
    )
    return (
        field("outcome", "Outcome", outcome, errors, scope=scope)
        + field(
            "reviewer",
            "Reviewer (optional)",
            text_input("reviewer", form.get("reviewer", ""), scope=scope),
            errors,
            scope=scope,
        )
        + field(
            "notes",
            "Notes (optional)",
            textarea("notes", form.get("notes", ""), scope=scope),
            errors,
            scope=scope,
        )
    )


def appeal_fields(form: Form, errors: Errors, scope: str) -> str:
    levels = [("standard", "standard"), ("expedited", "expedited")]
    level = select("level", levels, form.get("level", "standard"), scope=scope)
    return field("level", "Appeal level", level, errors, scope=scope)


def appeal_outcome_fields(form: Form, errors: Errors, scope: str) -> str:
    outcome = select(
        "outcome", OUTCOMES, form.get("outcome", ""), scope=scope, invalid="outcome" in errors
    )
    return field("outcome", "Outcome", outcome, errors, scope=scope)


def information_fields(form: Form, errors: Errors, scope: str) -> str:
    note = textarea("note", form.get("note", ""), scope=scope, invalid="note" in errors)
    return field("note", "What was sent to the payer", note, errors, scope=scope)


def discharge_fields(form: Form, errors: Errors, scope: str) -> str:
    today = datetime.now(UTC).date().isoformat()
    day = text_input(
        "date", form.get("date", today), kind="date", scope=scope, invalid="date" in errors
    )
    status = select(
        "patient_status",
        STATUS_CHOICES,
        form.get("patient_status", "01"),
        scope=scope,
        invalid="patient_status" in errors,
    )
    disposition = select(
        "disposition",
        choices(DISPOSITIONS),
        form.get("disposition", "step_down"),
        scope=scope,
        invalid="disposition" in errors,
    )
    to_level = text_input(
        "to_level", form.get("to_level", ""), scope=scope, invalid="to_level" in errors
    )
    return (
        field("date", "Discharge date", day, errors, scope=scope)
        + field("patient_status", "Patient status", status, errors, scope=scope)
        + field("disposition", "Disposition", disposition, errors, scope=scope)
        + field("to_level", "To level (optional)", to_level, errors, scope=scope)
    )


def cancel_fields(form: Form, errors: Errors, scope: str) -> str:
    reason = text_input(
        "reason",
        form.get("reason", ""),
        scope=scope,
        invalid="reason" in errors,
        required="required",
    )
    return field("reason", "Reason", reason, errors, scope=scope)
