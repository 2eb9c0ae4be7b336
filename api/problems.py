"""RFC 9457 problem details: the one mapping of failures to HTTP statuses, and its handlers."""

from __future__ import annotations

import logging
import re
import traceback
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException

from domain.errors import Rejected
from store.ports import InvalidCursor
from workflows.client import WorkflowServiceUnavailable

log = logging.getLogger("stepdown.api")

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = "5"

# Rejected codes of the domain and the workflow client; any other code is a 409.
STATUS_OF_CODE = {
    "invalid_input": 422,
    "not_found": 404,
    "conflict": 409,
    "invalid_state": 409,
    "window_closed": 409,
    "stale_trace": 409,
    "unknown_trace": 409,
    "nothing_to_bill": 409,
    "too_early": 409,
    "stale_deadline": 409,
    "unknown_payer": 422,
    "unknown_service": 404,
}
TITLE_OF_CODE = {
    "invalid_input": "The request is not valid",
    "not_found": "No such episode",
    "conflict": "Conflicts with what is stored",
    "invalid_state": "The episode's state does not allow this",
    "window_closed": "The window for this has closed",
    "stale_trace": "The decision answers an earlier request",
    "unknown_trace": "The trace number is not this episode's",
    "nothing_to_bill": "Nothing to bill",
    "unknown_payer": "The payer is not in the payer directory",
    "unknown_service": "No such service on this episode",
}


# Every `code` a problem may carry: the domain's (above) and the API's own. Nothing else —
# an exception's class name or message never becomes a code (tests/api/test_edges.py).
PROBLEM_CODES = frozenset(STATUS_OF_CODE) | {
    "unauthenticated",
    "forbidden",
    "invalid_signature",
    "unmatched",
    "unparseable",
    "unsupported_media_type",
    "delivery_id_reused",
    "payer_mismatch",
    "unprocessable",
    "no_route",
    "method_not_allowed",
    "too_large",
    "bad_request",
    "unavailable",
    "database_unavailable",
    "workflow_unavailable",
    "internal_error",
}
CODE_OF_HTTP_STATUS = {
    400: "bad_request",
    404: "no_route",
    405: "method_not_allowed",
    413: "too_large",
}


# What a refusal code of the domain looks like; a Python exception's class name that the
# workflow client reports as the failure type ("OverflowError") does not.
DOMAIN_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def status_for(code: str) -> int:
    return STATUS_OF_CODE.get(code, 409)


class ProblemItem(BaseModel):
    """One problem of many: `pointer` (JSON pointer into the body) or `parameter` names it."""

    detail: str
    pointer: str | None = None
    parameter: str | None = None


class Problem(BaseModel):
    """application/problem+json; extra members (`state`, `code`) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemItem] | None = None


class ApiProblem(Exception):
    """An HTTP answer that is a problem; raised anywhere, rendered by the handler below."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[ProblemItem] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.errors, self.headers, self.extra = errors, headers, extra

    def body(self) -> dict[str, Any]:
        return problem_body(self.status, self.code, self.detail, self.errors, **self.extra)


def problem_body(
    status: int, code: str, detail: str, errors: list[ProblemItem] | None = None, **extra: Any
) -> dict[str, Any]:
    problem = Problem(
        type=f"urn:stepdown:problem:{code}" if code else "about:blank",
        title=TITLE_OF_CODE.get(code) or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        errors=errors,
        **({"code": code} if code else {}),
        **extra,
    )
    return problem.model_dump(mode="json", exclude_none=True)


def rejected_problem(err: Rejected, **extra: Any) -> ApiProblem:
    if not DOMAIN_CODE.fullmatch(err.code):
        return unprocessable(err, **extra)
    listed = len(err.problems) > 1 or status_for(err.code) == 422
    items = [ProblemItem(detail=p) for p in err.problems] if listed else None
    return ApiProblem(status_for(err.code), err.code, str(err), errors=items, **extra)


def unprocessable(err: Rejected, **extra: Any) -> ApiProblem:
    """A refusal the domain did not name (the workflow raised something else while checking
    the command, e.g. a date it could not compute with): typed, and without its message."""
    log.warning("unnamed refusal %r mapped to unprocessable", err.code[:80])
    detail = (
        "the episode could not process a value of this request (a date or number beyond what "
        "the rules compute with); nothing changed — check the values and send it again"
    )
    return ApiProblem(422, "unprocessable", detail, **extra)


def render(request: Request, problem: ApiProblem) -> JSONResponse:
    request.state.outcome = problem.code or str(problem.status)
    return JSONResponse(
        problem.body(), problem.status, headers=problem.headers, media_type=PROBLEM_JSON
    )


async def on_api_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return render(request, exc)


async def on_rejected(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Rejected)
    return render(request, rejected_problem(exc))


async def on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    items = [validation_item(error) for error in exc.errors()]
    detail = f"{len(items)} problem(s) in the request: " + "; ".join(i.detail for i in items)
    return render(request, ApiProblem(422, "invalid_input", detail, errors=items))


def validation_item(error: Any) -> ProblemItem:
    where, *path = error.get("loc") or ("body",)
    message = error.get("msg", "invalid")
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", message)
        at = f" at character {path[0]}" if path else ""
        return ProblemItem(detail=f"body is not valid JSON{at}: {reason}", pointer="#")
    dotted = ".".join(str(part) for part in path)
    text = f"{dotted}: {message}" if dotted else f"{where}: {message}"
    if where == "body":
        pointer = "#/" + "/".join(str(part) for part in path)
        return ProblemItem(detail=text, pointer=pointer)
    return ProblemItem(detail=f"{where} parameter {text}", parameter=dotted or None)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route matches {request.url.path}; the routes are listed at /openapi.json"
    elif exc.status_code == 405:
        allowed = allowed_methods(request)
        detail = f"{request.method} is not allowed on {request.url.path}; use {allowed}"
        headers = {"Allow": allowed}
    elif exc.status_code == 413:
        detail = "the request body is larger than 1 MiB; send a smaller body"
    code = CODE_OF_HTTP_STATUS.get(exc.status_code, "bad_request")
    problem = ApiProblem(exc.status_code, code, detail, headers=headers)
    return render(request, problem)


def allowed_methods(request: Request) -> str:
    """Every method documented on this path (Starlette names only the first route's)."""
    paths: dict[str, dict[str, Any]] = request.app.openapi()["paths"]
    methods = {
        method.upper()
        for template, operations in paths.items()
        if _fits(template, request.url.path)
        for method in operations
    }
    return ", ".join(sorted(methods))


def _fits(template: str, path: str) -> bool:
    want, got = template.strip("/").split("/"), path.strip("/").split("/")
    same_length = len(want) == len(got)
    return same_length and all(w.startswith("{") or w == g for w, g in zip(want, got, strict=False))


async def on_workflow_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("workflow service unavailable on %s: %s", request.url.path, exc)
    detail = (
        "the workflow service (Temporal) did not answer in time; read the episode to see "
        "whether the change was made, then retry"
    )
    return render(request, unavailable("workflow_unavailable", detail))


async def on_database_error(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable on %s: %s", request.url.path, type(exc).__name__)
    detail = "the database did not answer; nothing was stored, retry in a few seconds"
    return render(request, unavailable("database_unavailable", detail))


async def on_invalid_cursor(request: Request, exc: Exception) -> JSONResponse:
    detail = f"{exc}; start again without `cursor` or use a `next_cursor` this list returned"
    item = ProblemItem(detail="query parameter cursor: not from this list", parameter="cursor")
    return render(request, ApiProblem(422, "invalid_input", detail, errors=[item]))


def traceback_only(exc: BaseException) -> str:
    """Where it failed, without the exception's message: that may quote input, PHI included."""
    return type(exc).__name__ + "\n" + "".join(traceback.format_tb(exc.__traceback__))


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    where = f"{request.method} {request.url.path}"
    log.error("unexpected error on %s: %s", where, traceback_only(exc))
    detail = "the server failed on this request; it is logged, retry or report the request id"
    return render(request, ApiProblem(500, "internal_error", detail))


def unavailable(code: str, detail: str) -> ApiProblem:
    return ApiProblem(503, code, detail, headers={"Retry-After": RETRY_AFTER_SECONDS})


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiProblem, on_api_problem)
    app.add_exception_handler(Rejected, on_rejected)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(WorkflowServiceUnavailable, on_workflow_unavailable)
    app.add_exception_handler(OperationalError, on_database_error)
    app.add_exception_handler(InterfaceError, on_database_error)
    app.add_exception_handler(InvalidCursor, on_invalid_cursor)
    app.add_exception_handler(Exception, on_unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, all application/problem+json."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {}},
        }
        for status in statuses
    }
