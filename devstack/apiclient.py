"""A small synchronous client of the stepdown HTTP API that turns problem+json into ApiError."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from domain.model import PayerDecision
from payers.formats.canonical import canonical_body
from payers.formats.pas_render import pas_body
from payers.formats.x12_render import x12_body
from payers.signature import sign
from payers.simulator import CONTENT_TYPES

RENDERERS = {"json": canonical_body, "fhir": pas_body, "x12": x12_body}


class ApiError(Exception):
    """The API answered with an error; `message` is the problem's title and detail in words."""

    def __init__(self, status: int, title: str, detail: str, errors: list[Any] | None = None):
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        super().__init__(self.message)

    @property
    def message(self) -> str:
        head = f"{self.status} {self.title}" + (f": {self.detail}" if self.detail else "")
        lines = [head, *(f"  - {_problem_line(e)}" for e in self.errors)]
        return "\n".join(lines)

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            text = response.text.strip()[:500]
            return cls(response.status_code, response.reason_phrase, text)
        detail = body.get("detail", "")
        if not isinstance(detail, str):  # FastAPI's own 422s carry a list of problems
            return cls(response.status_code, "Invalid request", "", list(detail))
        title = str(body.get("title") or response.reason_phrase)
        return cls(response.status_code, title, detail, body.get("errors"))


def _problem_line(error: Any) -> str:
    """`{"detail", "pointer"|"parameter"}` (the API's items) or FastAPI's `{"loc", "msg"}`."""
    if not isinstance(error, dict):
        return str(error)
    loc = error.get("loc")
    where = error.get("pointer") or error.get("parameter") or error.get("field")
    if where is None and isinstance(loc, list | tuple):
        where = ".".join(str(part) for part in loc)
    text = error.get("detail") or error.get("msg") or str(error)
    return f"{where}: {text}" if where else str(text)


class ApiClient:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; raise ApiError for any 4xx/5xx, ConnectError when nobody listens."""
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise ApiError.from_response(response)
        return response

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self.call("GET", path, params=clean).json()

    def post(self, path: str, body: Any) -> Any:
        return self.call("POST", path, json=body).json()

    def send_decision(
        self,
        payer_id: str,
        decision: PayerDecision,
        *,
        fmt: str,
        secret: str,
        timestamp: int,
        delivery_id: str | None = None,
    ) -> Any:
        """Render, sign and post `decision` exactly as a payer would."""
        body = RENDERERS[fmt](decision)
        headers = {
            "Content-Type": CONTENT_TYPES[fmt],
            "Stepdown-Signature": sign(secret, body, timestamp),
            "Stepdown-Delivery": delivery_id or f"cli-{uuid.uuid4().hex}",
        }
        return self.call("POST", f"/webhooks/payers/{payer_id}", content=body, headers=headers)
