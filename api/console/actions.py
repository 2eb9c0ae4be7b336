"""The episode actions people take (P2P, appeal, information, discharge, cancel) as forms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from api.bounds import OUT_OF_RANGE, check_dates
from api.console import action_fields as af
from api.console import attendance_forms
from api.console.session import Session
from api.console.templates import render_template
from domain import commands as c
from domain.model import TERMINAL_STATES
from store.attachments import Attachment
from workflows.episode import EpisodeWorkflow
from workflows.models import AppealAction, P2PAction

Form = dict[str, str]
Errors = dict[str, list[str]]


class FieldProblem(ValueError):
    """One input the form cannot use; shown under that input."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


@dataclass
class Failure:
    """What went wrong with one submitted action form, to render it again in place."""

    form: Form
    errors: Errors = dataclass_field(default_factory=dict)
    problems: list[str] = dataclass_field(default_factory=list)


@dataclass(frozen=True)
class Action:
    name: str
    title: str
    roles: tuple[str, ...]
    allowed: Callable[[str], bool]
    update: Any
    build: Callable[[Form], Any]
    fields: Callable[[Form, Errors, str], str]
    button: str
    danger: bool = False
    # Asked in the browser before the form is sent (episode page script): no undo.
    confirm: str = ""


def scheduled_at(form: Form) -> datetime:
    """The call time from a datetime-local input, shifted by the browser's UTC offset."""
    raw = form.get("at", "").strip()
    if not raw:
        raise FieldProblem("at", "enter the date and time of the call")
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise FieldProblem("at", "use the form YYYY-MM-DD HH:MM") from None
    if at.tzinfo is not None:
        return at
    offset = form.get("tz_offset", "0").strip() or "0"
    minutes = int(offset) if offset.lstrip("-").isdigit() and len(offset) < 6 else 0
    # getTimezoneOffset() is UTC minus local time, in minutes.
    try:
        return (at + timedelta(minutes=minutes)).replace(tzinfo=UTC)
    except OverflowError:
        raise FieldProblem("at", OUT_OF_RANGE) from None


# The forms that send attachments with them: a checkbox `attachment-<id>` for each of the
# episode's attachments (the route checks the ids are this episode's).
ATTACHABLE = frozenset({"p2p-request", "appeal-file", "information"})


def chosen_attachments(form: Form) -> tuple[int, ...]:
    ids = []
    for key, value in form.items():
        number = key.removeprefix("attachment-")
        if key.startswith("attachment-") and value and number.isdigit() and len(number) < 10:
            ids.append(int(number))
    return tuple(sorted(ids))


def _optional(form: Form, name: str) -> str | None:
    return form.get(name, "").strip() or None


def _build_schedule(form: Form) -> P2PAction:
    return P2PAction(action="schedule", at=scheduled_at(form), reviewer=_optional(form, "reviewer"))


def _build_outcome(form: Form) -> P2PAction:
    return P2PAction.model_validate(
        {
            "action": "outcome",
            "outcome": form.get("outcome"),
            "reviewer": _optional(form, "reviewer"),
            "notes": _optional(form, "notes"),
        }
    )


def _build_discharge(form: Form) -> c.Discharge:
    values = {k: form.get(k, "").strip() for k in ("date", "patient_status", "disposition")}
    return c.Discharge.model_validate(values | {"to_level": _optional(form, "to_level")})


def _in(*states: str) -> Callable[[str], bool]:
    return lambda state: state in states


def _active(state: str) -> bool:
    return state not in TERMINAL_STATES and state != "discharged"


OPS = ("ops",)
INTAKE_OPS = ("intake", "ops")
ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "p2p-request",
            "Request a peer-to-peer review",
            OPS,
            _in("denied"),
            EpisodeWorkflow.p2p,
            lambda f: P2PAction(action="request", attachments=chosen_attachments(f)),
            af.no_fields,
            "Request P2P",
        ),
        Action(
            "p2p-schedule",
            "Schedule the peer-to-peer call",
            OPS,
            _in("p2p_requested", "p2p_scheduled"),
            EpisodeWorkflow.p2p,
            _build_schedule,
            af.schedule_fields,
            "Schedule call",
        ),
        Action(
            "p2p-outcome",
            "Record the peer-to-peer outcome",
            OPS,
            _in("p2p_scheduled"),
            EpisodeWorkflow.p2p,
            _build_outcome,
            af.p2p_outcome_fields,
            "Record outcome",
        ),
        Action(
            "appeal-file",
            "File an appeal",
            OPS,
            _in("denied"),
            EpisodeWorkflow.appeal,
            lambda f: AppealAction(
                action="file", level=f.get("level", "standard"), attachments=chosen_attachments(f)
            ),
            af.appeal_fields,
            "File appeal",
        ),
        Action(
            "appeal-outcome",
            "Record the appeal outcome",
            OPS,
            _in("appeal"),
            EpisodeWorkflow.appeal,
            lambda f: AppealAction.model_validate(
                {"action": "outcome", "outcome": f.get("outcome")}
            ),
            af.appeal_outcome_fields,
            "Record outcome",
        ),
        Action(
            "information",
            "Send the information the payer asked for",
            INTAKE_OPS,
            _in("info_requested"),
            EpisodeWorkflow.provide_information,
            lambda f: c.ProvideInformation(
                note=f.get("note", "").strip(), attachments=chosen_attachments(f)
            ),
            af.information_fields,
            "Record information sent",
        ),
        Action(
            "discharge",
            "Discharge from IOP",
            INTAKE_OPS,
            _active,
            EpisodeWorkflow.discharge,
            _build_discharge,
            af.discharge_fields,
            "Discharge",
            confirm=(
                "Discharge this patient from IOP? The authorization ends on the discharge date; "
                "this cannot be undone."
            ),
        ),
        Action(
            "program-schedule",
            "Set the program schedule",
            INTAKE_OPS,
            _active,
            EpisodeWorkflow.set_schedule,
            attendance_forms.build_schedule,
            attendance_forms.schedule_fields,
            "Save schedule",
        ),
        Action(
            "attendance",
            "Record a session's attendance",
            OPS,
            _active,
            EpisodeWorkflow.record_attendance,
            attendance_forms.build_attendance,
            attendance_forms.attendance_fields,
            "Record attendance",
        ),
        Action(
            "cancel",
            "Cancel the episode",
            INTAKE_OPS,
            _active,
            EpisodeWorkflow.cancel,
            lambda f: c.Cancel(reason=f.get("reason", "").strip()),
            af.cancel_fields,
            "Cancel episode",
            danger=True,
            confirm="Cancel this episode? No claim can be released for it afterwards.",
        ),
    )
}


def build(action: Action, form: Form) -> tuple[Any, Errors]:
    """The update's argument, or the errors of each input that could not be used."""
    try:
        built = action.build(form)
        if isinstance(built, BaseModel):
            check_dates(built)  # the calendar the API accepts (api/bounds.py)
        return built, {}
    except FieldProblem as err:
        return None, {err.name: [str(err)]}
    except ValidationError as err:
        errors: Errors = {}
        for item in err.errors():
            name = str(item["loc"][0]) if item.get("loc") else "form"
            errors.setdefault(name, []).append(item["msg"])
        return None, errors


def available(state: str, session: Session) -> list[Action]:
    return [a for a in ACTIONS.values() if a.allowed(state) and session.may(*a.roles)]


@dataclass(frozen=True)
class ActionForm:
    """One action's form as the template shows it: `fields` is markup of our own templates."""

    name: str
    title: str
    button: str
    danger: bool
    confirm: str
    problems: list[str]
    fields: str
    # The ids ticked when the form comes back refused; None: the form sends no attachments.
    ticked: frozenset[int] | None = None


def action_form(action: Action, failure: Failure | None) -> ActionForm:
    form, errors = (failure.form, failure.errors) if failure else ({}, {})
    problems = failure.problems if failure else []
    unplaced = [p for name, ps in errors.items() for p in ps if name == "form"]
    return ActionForm(
        name=action.name,
        title=action.title,
        button=action.button,
        danger=action.danger,
        confirm=action.confirm,
        problems=problems + unplaced,
        fields=action.fields(form, errors, action.name),
        ticked=frozenset(chosen_attachments(form)) if action.name in ATTACHABLE else None,
    )


def stale_failure(
    state: str, session: Session, failed: tuple[str, Failure] | None
) -> dict[str, Any] | None:
    """A refusal for a form this state no longer offers (the page was out of date)."""
    if failed is None or failed[0] in {a.name for a in available(state, session)}:
        return None
    action, failure = ACTIONS[failed[0]], failed[1]
    problems = failure.problems or [p for ps in failure.errors.values() for p in ps]
    return {"problems": problems, "title": f"Could not {action.title.lower()}"}


def actions_html(
    episode_id: str,
    state: str,
    session: Session,
    failed: tuple[str, Failure] | None = None,
    primary: str | None = None,
    files: list[Attachment] | None = None,
) -> str:
    """The `primary` action's form in view; the others folded under "More actions" (open
    when one of them was just refused, so its errors show); templates/actions.html. The
    forms that send attachments offer each of `files`."""
    offered = available(state, session)

    def form(a: Action) -> ActionForm:
        return action_form(a, failed[1] if failed and failed[0] == a.name else None)

    main = [a for a in offered if a.name == primary] or ([] if primary else offered)
    rest = [a for a in offered if a not in main]
    return render_template(
        "actions.html",
        episode_id=episode_id,
        state=state,
        csrf=session.csrf,
        stale=stale_failure(state, session, failed),
        main=[form(a) for a in main],
        rest=[form(a) for a in rest],
        rest_open=bool(failed and failed[0] in {a.name for a in rest}),
        files=files or [],
    )
