"""The inputs of each episode action's form (templates/action_fields.html), refilled with
what was typed and its errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.console.fields import choices
from api.console.templates import ENV
from domain.codes import PATIENT_STATUS, STILL_A_PATIENT

Form = dict[str, str]
Errors = dict[str, list[str]]
OUTCOMES = [("overturned", "overturned (approved)"), ("upheld", "upheld (denial stands)")]
DISPOSITIONS = ("step_down", "step_up", "completed", "left_ama", "other")
# 30 (still a patient) is a claim status, not a discharge: the domain refuses it.
STATUS_CHOICES = [
    (code, f"{code} — {text}") for code, text in PATIENT_STATUS.items() if code != STILL_A_PATIENT
]


def _macros() -> Any:
    return ENV.get_template("action_fields.html").module


def no_fields(form: Form, errors: Errors, scope: str) -> str:
    return ""


def schedule_fields(form: Form, errors: Errors, scope: str) -> str:
    return str(_macros().schedule(form, errors, scope))


def p2p_outcome_fields(form: Form, errors: Errors, scope: str) -> str:
    return str(_macros().p2p_outcome(form, errors, scope, OUTCOMES))


def appeal_fields(form: Form, errors: Errors, scope: str) -> str:
    return str(_macros().appeal(form, errors, scope))


def appeal_outcome_fields(form: Form, errors: Errors, scope: str) -> str:
    return str(_macros().appeal_outcome(form, errors, scope, OUTCOMES))


def information_fields(form: Form, errors: Errors, scope: str) -> str:
    return str(_macros().information(form, errors, scope))


def discharge_fields(form: Form, errors: Errors, scope: str) -> str:
    today = datetime.now(UTC).date().isoformat()
    dispositions = choices(DISPOSITIONS)
    return str(_macros().discharge(form, errors, scope, today, STATUS_CHOICES, dispositions))


def cancel_fields(form: Form, errors: Errors, scope: str) -> str:
    return str(_macros().cancel(form, errors, scope))
