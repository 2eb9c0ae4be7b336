"""Form inputs with labels and inline errors, shared by the intake form and the action forms."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from api.console.page import esc

Options = Iterable[tuple[str, str]]


def input_id(name: str, scope: str = "") -> str:
    base = name.replace(".", "-").replace("_", "-")
    return f"{scope}-{base}" if scope else base


def text_input(
    name: str,
    value: str,
    *,
    kind: str = "text",
    scope: str = "",
    invalid: bool = False,
    **attrs: str,
) -> str:
    extra = "".join(f' {key.rstrip("_").replace("_", "-")}="{esc(v)}"' for key, v in attrs.items())
    state = ' aria-invalid="true"' if invalid else ""
    ident = input_id(name, scope)
    return (
        f'<input type="{kind}" id="{ident}" name="{esc(name)}" value="{esc(value)}"'
        f"{state}{_described(ident, invalid)}{extra}>"
    )


def select(
    name: str, options: Options, value: str, *, scope: str = "", invalid: bool = False
) -> str:
    ident = input_id(name, scope)
    state = ' aria-invalid="true"' if invalid else ""
    items = "".join(
        f'<option value="{esc(v)}"{" selected" if v == value else ""}>{esc(text)}</option>'
        for v, text in options
    )
    return (
        f'<select id="{ident}" name="{esc(name)}"{state}{_described(ident, invalid)}>'
        f"{items}</select>"
    )


def textarea(name: str, value: str, *, scope: str = "", invalid: bool = False) -> str:
    ident = input_id(name, scope)
    state = ' aria-invalid="true"' if invalid else ""
    return (
        f'<textarea id="{ident}" name="{esc(name)}" rows="2"{state}'
        f"{_described(ident, invalid)}>{esc(value)}</textarea>"
    )


def _described(ident: str, invalid: bool) -> str:
    return f' aria-describedby="{ident}-error"' if invalid else ""


def field(
    name: str,
    label: str,
    control: str,
    errors: Mapping[str, list[str]],
    *,
    scope: str = "",
    hint: str = "",
) -> str:
    """A labelled control with its errors below it; the control must use the same `name`."""
    ident = input_id(name, scope)
    problems = errors.get(name, [])
    error = (
        f'<div class="error" id="{ident}-error">{"<br>".join(esc(p) for p in problems)}</div>'
        if problems
        else ""
    )
    hint_html = f'<div class="hint">{esc(hint)}</div>' if hint else ""
    return (
        f'<div class="field"><label for="{ident}">{esc(label)}</label>'
        f"{control}{hint_html}{error}</div>"
    )


def choices(
    values: Iterable[str], labels: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    labels = labels or {}
    return [(v, labels.get(v, v.replace("_", " "))) for v in values]
