"""The intake form: every field of POST /episodes, refilled with what was typed, errors inline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import get_args

from api.console.fields import choices
from api.console.intake import DIMENSION_FIELDS, FORM_LEVEL, LABELS, Errors, Form
from api.console.session import Session
from api.console.templates import render_template
from domain.levels import IOP_LEVEL, LEVELS
from domain.model import Department, Setting, UnitType, Urgency
from domain.policy import PLAN_TYPES

CHOOSE = [("", "Choose…")]
# Float order; "4" and "4.0" (editions spell them apart) keep one order between runs.
ALL_LEVELS = sorted(
    {lvl for levels in LEVELS.values() for lvl in levels}, key=lambda v: (float(v), v)
)


def defaults() -> Form:
    today = datetime.now(UTC).date().isoformat()
    return {
        "episode_id": f"ep-{today[:4]}-{uuid.uuid4().hex[:8]}",
        "urgency": "standard",
        "asam_edition": "3",
        "from_level": "2.5",
        "to_level": "2.1",
        "department": "on_campus",
        "requested.start": today,
        "requested.unit_type": "days",
    }


@dataclass(frozen=True)
class Input:
    """One input of the form: a select when it has `options`, else an <input> of `kind`."""

    name: str
    label: str
    kind: str = "text"
    hint: str = ""
    attrs: tuple[tuple[str, str], ...] = ()
    options: list[tuple[str, str]] | None = None


@dataclass(frozen=True)
class Part:
    """A fieldset; `name` is the input group whose own errors show under its legend."""

    legend: str
    inputs: tuple[Input, ...]
    name: str = ""
    hint: str = ""


def text(name: str, label: str, kind: str = "text", hint: str = "", **attrs: str) -> Input:
    return Input(name, label, kind, hint, tuple(attrs.items()))


def choice(name: str, label: str, options: list[tuple[str, str]]) -> Input:
    return Input(name, label, options=options)


LEVEL_CHOICES = [(lvl, lvl) for lvl in ALL_LEVELS]
# A step-down goes to IOP only (DOMAIN §1): the list offers no level the rules would refuse.
TO_LEVEL_CHOICES = [(IOP_LEVEL, f"{IOP_LEVEL} (intensive outpatient)")]


PARTS = (
    Part(
        "Episode",
        (
            text("episode_id", "Episode id", required="required"),
            choice("urgency", "Urgency", choices(get_args(Urgency))),
        ),
    ),
    Part(
        "Patient",
        (
            text("patient.name", "Name"),
            text("patient.birth_date", "Birth date", kind="date"),
            text("patient.id", "Patient id"),
            text("patient.member_id", "Member id"),
        ),
        "patient",
    ),
    Part(
        "Payer",
        (
            text("payer.id", "Payer id"),
            choice("payer.plan_type", "Plan type", CHOOSE + choices(PLAN_TYPES)),
        ),
        "payer",
    ),
    Part(
        "Level of care",
        (
            choice("asam_edition", "ASAM edition", [("3", "3rd"), ("4", "4th")]),
            choice("from_level", "From level", LEVEL_CHOICES),
            choice("to_level", "To level", TO_LEVEL_CHOICES),
            choice("setting", "Setting", CHOOSE + choices(get_args(Setting))),
            choice("department", "Department", choices(get_args(Department))),
        ),
    ),
    Part(
        "ASAM dimension ratings (risk 0–4)",
        tuple(
            text(name, f"Dimension {name[-1]}", kind="number", min="0", max="4")
            for name in DIMENSION_FIELDS
        ),
        "dimensions",
        "The 4th edition does not rate dimension 6: leave it blank.",
    ),
    Part(
        "Prior authorization (optional)",
        (
            text("prior_authorization.number", "Number"),
            choice("prior_authorization.level", "Level", [("", "—"), *LEVEL_CHOICES]),
            text("prior_authorization.start", "Start", kind="date"),
            text("prior_authorization.end", "End", kind="date"),
        ),
        "prior_authorization",
    ),
    Part(
        "Requested authorization",
        (
            text("requested.start", "Start", kind="date"),
            text("requested.units", "Units", kind="number", min="1"),
            choice("requested.unit_type", "Unit type", choices(get_args(UnitType))),
            text(
                "requested.service_codes",
                "Service codes",
                hint="HCPCS/CPT or revenue codes, comma-separated: S9480, 90853",
            ),
        ),
        "requested",
    ),
    Part(
        "Clinical",
        (
            text("diagnoses", "Diagnoses (ICD-10-CM)", hint="comma-separated: F33.1"),
            text("php_last_claim_through", "PHP last claim through (optional)", kind="date"),
        ),
    ),
)


# Moves focus to the summary, so keyboard and screen-reader users start at the problems.
FOCUS_ERRORS = "document.getElementById('form-errors')?.focus();"


def intake_body(session: Session, form: Form, errors: Errors, notice: str = "") -> str:
    """templates/intake.html; the summary counts every problem, general ones included."""
    return render_template(
        "intake.html",
        notice=notice,
        errors=errors,
        count=sum(len(ps) for ps in errors.values()),
        form_level=FORM_LEVEL,
        labels=LABELS,
        csrf=session.csrf,
        parts=PARTS,
        form=form,
    )
