"""A person's own password: replaced at the first sign-in (one-time password), or any time."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from api.console.gate import enter, submitted
from api.console.page import message_page, render
from api.console.session import Session, users_of
from api.console.templates import render_template
from api.deps import blocking, get_deps
from api.identity import MIN_PASSWORD_LENGTH, hash_password, verify_password

router = APIRouter(include_in_schema=False)
ANY_CONSOLE_ROLE = ("ops", "intake")
MAX_PASSWORD = 200
FIELDS = (
    ("current", "Current password", "The one you signed in with.", "current-password"),
    (
        "new",
        "New password",
        f"At least {MIN_PASSWORD_LENGTH} characters; a few unrelated words work well.",
        "new-password",
    ),
    ("confirm", "New password again", "The same new password, to catch a typo.", "new-password"),
)
# Focus the error summary so a screen reader announces what to fix (CSP nonce in render).
FOCUS_SUMMARY = "document.getElementById('error-summary')?.focus();"


def page(session: Session, errors: dict[str, str], status: int = 200) -> Response:
    body = render_template(
        "password.html",
        expired=session.password_expired,
        errors=errors,
        csrf=session.csrf,
        fields=FIELDS,
    )
    script = FOCUS_SUMMARY if errors else ""
    return render("Your password", body, session, status=status, script=script)


def no_person(session: Session) -> Response:
    detail = "This session was opened with an access token; sign in as a person to set a password."
    return message_page("No password to change", detail, session, 404)


@router.get("/password", name="console.password_form")
async def password_form(request: Request) -> Response:
    gate = await enter(request, ANY_CONSOLE_ROLE, expired_ok=True)
    if isinstance(gate, Response):
        return gate
    return page(gate, {}) if gate.user.user_id is not None else no_person(gate)


def problems(username: str, form: dict[str, str], current_ok: bool) -> dict[str, str]:
    """Every problem at once, in words, keyed by the field it belongs to."""
    new, errors = form.get("new", ""), {}
    if not current_ok:
        errors["current"] = "That is not your current password."
    if len(new) < MIN_PASSWORD_LENGTH:
        errors["new"] = f"Use at least {MIN_PASSWORD_LENGTH} characters."
    elif len(new) > MAX_PASSWORD:
        errors["new"] = f"Use at most {MAX_PASSWORD} characters."
    elif username.lower() in new.lower():
        errors["new"] = "Leave your username out of the password."
    elif new == form.get("current"):
        errors["new"] = "Choose a password different from the current one."
    if "new" not in errors and form.get("confirm") != new:
        errors["confirm"] = "The two new passwords differ; type the same one twice."
    return errors


@router.post("/password", name="console.password")
async def change_password(request: Request) -> Response:
    posted = await submitted(request, ANY_CONSOLE_ROLE, expired_ok=True)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    if session.user.user_id is None:
        return no_person(session)
    users = users_of(request)
    username = session.user.actor.removeprefix("user:")
    record = await blocking(users.by_username, username)
    current_ok = await blocking(verify_password, record, form.get("current", "")[:MAX_PASSWORD])
    errors = problems(username, form, current_ok)
    if errors or record is None:
        request.state.outcome = "invalid"
        return page(session, errors or {"current": "Sign in again."}, 422)
    hashed = await blocking(hash_password, form["new"])
    await blocking(users.set_password, record.id, hashed, get_deps(request).clock())
    request.state.outcome = "password_changed"
    return RedirectResponse("/console", status_code=303)
