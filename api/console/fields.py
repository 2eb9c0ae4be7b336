"""Form inputs with labels and inline errors (templates/fields.html), shared by the intake
form and the action forms."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup

from api.console.templates import ENV

Options = Iterable[tuple[str, str]]


def input_id(name: str, scope: str = "") -> str:
    base = name.replace(".", "-").replace("_", "-")
    return f"{scope}-{base}" if scope else base


def _macros() -> Any:
    return ENV.get_template("fields.html").module


def text_input(
    name: str,
    value: str,
    *,
    kind: str = "text",
    scope: str = "",
    invalid: bool = False,
    **attrs: str,
) -> str:
    # Keyword names become attributes: max_ -> max, aria_label -> aria-label.
    extra = [(key.rstrip("_").replace("_", "-"), v) for key, v in attrs.items()]
    html = _macros().text_input(name, value, kind, scope, invalid, extra)
    return str(html)


def select(
    name: str, options: Options, value: str, *, scope: str = "", invalid: bool = False
) -> str:
    return str(_macros().select(name, list(options), value, scope, invalid))


def textarea(name: str, value: str, *, scope: str = "", invalid: bool = False) -> str:
    return str(_macros().textarea(name, value, scope, invalid))


def field(
    name: str,
    label: str,
    control: str,
    errors: Mapping[str, list[str]],
    *,
    scope: str = "",
    hint: str = "",
) -> str:
    """A labelled control with its errors below it; the control must use the same `name`.

    `control` is trusted markup (one of the inputs above); every other value is escaped."""
    problems = errors.get(name, [])
    return str(_macros().field(name, label, Markup(control), problems, scope, hint))


def choices(
    values: Iterable[str], labels: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    labels = labels or {}
    return [(v, labels.get(v, v.replace("_", " "))) for v in values]
