"""The intake form's data: flat form fields to the intake body, and errors back to their fields."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from api.schemas import IntakeRequest
from domain import commands as c

Form = dict[str, str]
Errors = dict[str, list[str]]
FORM_LEVEL = "form"

DIMENSION_FIELDS = tuple(f"dimensions.{d}" for d in "123456")
LIST_FIELDS = ("requested.service_codes", "diagnoses")
FIELDS: tuple[str, ...] = (
    "episode_id",
    "urgency",
    "patient.id",
    "patient.name",
    "patient.birth_date",
    "patient.member_id",
    "payer.id",
    "payer.plan_type",
    "asam_edition",
    "from_level",
    "to_level",
    "setting",
    "department",
    *DIMENSION_FIELDS,
    "prior_authorization.number",
    "prior_authorization.level",
    "prior_authorization.start",
    "prior_authorization.end",
    "requested.start",
    "requested.units",
    "requested.unit_type",
    "requested.service_codes",
    "diagnoses",
    "php_last_claim_through",
)
# Full names for the error summary above the form (inputs carry shorter labels in context).
LABELS = {
    "episode_id": "Episode id",
    "urgency": "Urgency",
    "patient.id": "Patient id",
    "patient.name": "Patient name",
    "patient.birth_date": "Birth date",
    "patient.member_id": "Member id",
    "payer.id": "Payer id",
    "payer.plan_type": "Plan type",
    "asam_edition": "ASAM edition",
    "from_level": "From level",
    "to_level": "To level",
    "setting": "Setting",
    "department": "Department",
    **{name: f"Dimension {name[-1]}" for name in DIMENSION_FIELDS},
    "prior_authorization.number": "Prior authorization number",
    "prior_authorization.level": "Prior authorization level",
    "prior_authorization.start": "Prior authorization start",
    "prior_authorization.end": "Prior authorization end",
    "requested.start": "Requested start",
    "requested.units": "Requested units",
    "requested.unit_type": "Unit type",
    "requested.service_codes": "Service codes",
    "diagnoses": "Diagnoses",
    "php_last_claim_through": "PHP last claim through",
    "patient": "Patient",
    "payer": "Payer",
    "dimensions": "Dimension ratings",
    "prior_authorization": "Prior authorization",
    "requested": "Requested authorization",
}
# Longest first, so "prior_authorization.level" wins over a shorter name it starts with.
BY_LENGTH = sorted(FIELDS, key=len, reverse=True)
GROUPS = ("patient", "payer", "dimensions", "prior_authorization", "requested")
DIMENSION = re.compile(r"^dimension '?(\d+)'?")
FRIENDLY = {
    "Field required": "required",
    "missing": "required",
}
# Pydantic's error types in words a coordinator reads ("Input should be greater than 0" is not).
PLAIN = {
    "int_parsing": "Enter a whole number, digits only (for example 2).",
    "int_from_float": "Enter a whole number, without decimals.",
    "float_parsing": "Enter a number, for example 20.",
    "decimal_parsing": "Enter an amount, for example 150.00.",
    "date_parsing": "Enter a valid date as year-month-day, for example 1990-04-01.",
    "date_from_datetime_parsing": "Enter a valid date as year-month-day, for example 1990-04-01.",
    "date_from_datetime_inexact": "Enter a date only, without a time.",
    "greater_than": "Enter a number greater than {gt}.",
    "greater_than_equal": "Enter a number of {ge} or more.",
    "less_than": "Enter a number less than {lt}.",
    "less_than_equal": "Enter a number of {le} or less.",
    "string_too_short": "This cannot be empty.",
    "string_too_long": "Use at most {max_length} characters.",
    "string_pattern_mismatch": (
        "Use letters, digits, '.', '_' or '-' only, starting with a letter or digit."
    ),
    "too_short": "Enter at least {min_length}.",
    "too_long": "Enter at most {max_length}.",
    "literal_error": "Choose one of the listed options.",
    "enum": "Choose one of the listed options.",
    "extra_forbidden": "This field is not part of the form.",
}


def plain(item: Any) -> str:
    """The message for one pydantic error, in plain words where we know its type."""
    kind, ctx = item.get("type", ""), item.get("ctx") or {}
    if kind in FRIENDLY:
        return FRIENDLY[kind]
    if kind in PLAIN:
        try:
            return PLAIN[kind].format(**ctx)
        except (KeyError, IndexError):
            return PLAIN[kind]
    return str(item["msg"]).removeprefix("Value error, ")


def body_from(form: Form) -> dict[str, Any]:
    """The nested intake body; blank inputs are left out so the model says what is missing."""
    data: dict[str, Any] = {"dimensions": {}}
    for name in FIELDS:
        raw = form.get(name, "").strip()
        if not raw:
            continue
        value: Any = [t for t in re.split(r"[\s,;]+", raw) if t] if name in LIST_FIELDS else raw
        *parents, leaf = name.split(".")
        target = data
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return data


def command_from(form: Form) -> tuple[c.OpenEpisode | None, Errors]:
    """The command to open, or every input error found by the request model."""
    try:
        return IntakeRequest.model_validate(body_from(form)).command(), {}
    except ValidationError as err:
        errors: Errors = {}
        for item in err.errors():
            name = field_of_loc(tuple(str(p) for p in item.get("loc", ())))
            message = plain(item)
            errors.setdefault(name, []).append(message)
        return None, errors


def field_of_loc(loc: tuple[str, ...]) -> str:
    for size in range(len(loc), 0, -1):
        name = ".".join(loc[:size])
        if name in FIELDS or name in GROUPS:
            return name
    return FORM_LEVEL


def field_of_problem(sentence: str) -> str:
    """The input a domain sentence is about ("from_level '9' is not …" → from_level)."""
    found = DIMENSION.match(sentence)
    if found:
        name = f"dimensions.{found.group(1)}"
        return name if name in FIELDS else "dimensions"
    for name in BY_LENGTH:
        if sentence.startswith((f"{name} ", f"{name}:")):
            return name
    return FORM_LEVEL


def problem_errors(problems: list[str], code: str = "invalid_input") -> Errors:
    """The domain's refusal sentences, each under its input (or above the form)."""
    errors: Errors = {}
    for sentence in problems:
        name = "episode_id" if code == "conflict" else field_of_problem(sentence)
        shown = sentence.removeprefix(f"{name}: ") if name != FORM_LEVEL else sentence
        errors.setdefault(name, []).append(shown)
    return errors
