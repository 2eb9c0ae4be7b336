"""The intake form: every field of POST /episodes, refilled with what was typed, errors inline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import get_args

from api.console.fields import choices, field, input_id, select, text_input
from api.console.intake import DIMENSION_FIELDS, FORM_LEVEL, LABELS, Errors, Form
from api.console.page import alert, csrf_input, esc
from api.console.session import Session
from domain.levels import IOP_LEVEL, LEVELS
from domain.model import Department, Setting, UnitType, Urgency
from domain.policy import PLAN_TYPES

CHOOSE = [("", "Choose…")]
ALL_LEVELS = sorted({lvl for levels in LEVELS.values() for lvl in levels}, key=float)


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


class IntakeForm:
    """Renders inputs by name; every input is labelled and shows its own errors."""

    def __init__(self, form: Form, errors: Errors) -> None:
        self.form, self.errors = form, errors

    def text(self, name: str, label: str, kind: str = "text", hint: str = "", **attrs: str) -> str:
        control = text_input(
            name, self.form.get(name, ""), kind=kind, invalid=name in self.errors, **attrs
        )
        return field(name, label, control, self.errors, hint=hint)

    def choice(self, name: str, label: str, options: list[tuple[str, str]]) -> str:
        control = select(name, options, self.form.get(name, ""), invalid=name in self.errors)
        return field(name, label, control, self.errors)

    def group(self, legend: str, inner: str, name: str = "", hint: str = "") -> str:
        problems = self.errors.get(name, []) if name else []
        error = "".join(f'<div class="error">{esc(p)}</div>' for p in problems)
        hint_html = f'<p class="hint">{esc(hint)}</p>' if hint else ""
        return f"<fieldset><legend>{esc(legend)}</legend>{hint_html}{error}{inner}</fieldset>"


def row(*inputs: str) -> str:
    return f'<div class="row">{"".join(inputs)}</div>'


LEVEL_CHOICES = [(lvl, lvl) for lvl in ALL_LEVELS]
# A step-down goes to IOP only (DOMAIN §1): the list offers no level the rules would refuse.
TO_LEVEL_CHOICES = [(IOP_LEVEL, f"{IOP_LEVEL} (intensive outpatient)")]


def episode_part(f: IntakeForm) -> str:
    return f.group(
        "Episode",
        row(
            f.text("episode_id", "Episode id", required="required"),
            f.choice("urgency", "Urgency", choices(get_args(Urgency))),
        ),
    )


def patient_part(f: IntakeForm) -> str:
    inputs = row(
        f.text("patient.name", "Name"),
        f.text("patient.birth_date", "Birth date", kind="date"),
        f.text("patient.id", "Patient id"),
        f.text("patient.member_id", "Member id"),
    )
    return f.group("Patient", inputs, "patient")


def payer_part(f: IntakeForm) -> str:
    inputs = row(
        f.text("payer.id", "Payer id"),
        f.choice("payer.plan_type", "Plan type", CHOOSE + choices(PLAN_TYPES)),
    )
    return f.group("Payer", inputs, "payer")


def level_part(f: IntakeForm) -> str:
    inputs = row(
        f.choice("asam_edition", "ASAM edition", [("3", "3rd"), ("4", "4th")]),
        f.choice("from_level", "From level", LEVEL_CHOICES),
        f.choice("to_level", "To level", TO_LEVEL_CHOICES),
        f.choice("setting", "Setting", CHOOSE + choices(get_args(Setting))),
        f.choice("department", "Department", choices(get_args(Department))),
    )
    return f.group("Level of care", inputs)


def dimensions_part(f: IntakeForm) -> str:
    dims = [
        f.text(name, f"Dimension {name[-1]}", kind="number", min="0", max="4")
        for name in DIMENSION_FIELDS
    ]
    hint = "The 4th edition does not rate dimension 6: leave it blank."
    return f.group("ASAM dimension ratings (risk 0–4)", row(*dims), "dimensions", hint)


def prior_part(f: IntakeForm) -> str:
    inputs = row(
        f.text("prior_authorization.number", "Number"),
        f.choice("prior_authorization.level", "Level", [("", "—"), *LEVEL_CHOICES]),
        f.text("prior_authorization.start", "Start", kind="date"),
        f.text("prior_authorization.end", "End", kind="date"),
    )
    return f.group("Prior authorization (optional)", inputs, "prior_authorization")


def requested_part(f: IntakeForm) -> str:
    codes_hint = "HCPCS/CPT or revenue codes, comma-separated: S9480, 90853"
    inputs = row(
        f.text("requested.start", "Start", kind="date"),
        f.text("requested.units", "Units", kind="number", min="1"),
        f.choice("requested.unit_type", "Unit type", choices(get_args(UnitType))),
        f.text("requested.service_codes", "Service codes", hint=codes_hint),
    )
    return f.group("Requested authorization", inputs, "requested")


def clinical_part(f: IntakeForm) -> str:
    inputs = row(
        f.text("diagnoses", "Diagnoses (ICD-10-CM)", hint="comma-separated: F33.1"),
        f.text("php_last_claim_through", "PHP last claim through (optional)", kind="date"),
    )
    return f.group("Clinical", inputs)


PARTS = (
    episode_part,
    patient_part,
    payer_part,
    level_part,
    dimensions_part,
    prior_part,
    requested_part,
    clinical_part,
)


def sections(f: IntakeForm) -> str:
    return "".join(part(f) for part in PARTS)


# Moves focus to the summary, so keyboard and screen-reader users start at the problems.
FOCUS_ERRORS = "document.getElementById('form-errors')?.focus();"


def error_summary(errors: Errors) -> str:
    if not errors:
        return ""
    general = errors.get(FORM_LEVEL, [])
    links = [
        f'<li><a href="#{input_id(name)}">{esc(LABELS[name])}</a>: {esc("; ".join(ps))}</li>'
        for name, ps in errors.items()
        if name in LABELS
    ]
    count = sum(len(ps) for ps in errors.values())
    items = "".join(f"<li>{esc(p)}</li>" for p in general) + "".join(links)
    return (
        f'<div class="alert error" role="alert" id="form-errors" tabindex="-1">'
        f"<strong>{count} problem(s) "
        f"stop this episode from opening; each is marked at its field.</strong>"
        f"<ul>{items}</ul></div>"
    )


def intake_body(session: Session, form: Form, errors: Errors, notice: str = "") -> str:
    return (
        "<h1>Open an episode</h1>"
        + alert([notice] if notice else [])
        + error_summary(errors)
        + '<form method="post" action="/console/episodes/new" novalidate>'
        + csrf_input(session)
        + sections(IntakeForm(form, errors))
        + '<button type="submit">Open episode</button></form>'
    )
