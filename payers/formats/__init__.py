"""Parse a payer webhook body, in any supported format, into one canonical PayerDecision."""

from __future__ import annotations

from collections.abc import Callable

from domain.model import PayerDecision
from payers.formats.canonical import parse_canonical
from payers.formats.errors import UnparseableDecision, UnsupportedFormat
from payers.formats.pas import parse_pas
from payers.formats.x12 import parse_x12

PARSERS: dict[str, Callable[[bytes], PayerDecision]] = {
    "application/json": parse_canonical,
    "application/fhir+json": parse_pas,
    "application/edi-x12": parse_x12,
    "application/x12": parse_x12,
}

__all__ = ["PARSERS", "UnparseableDecision", "UnsupportedFormat", "media_type", "parse_decision"]


def parse_decision(content_type: str, body: bytes) -> PayerDecision:
    """Dispatch on the media type; raises only UnsupportedFormat or UnparseableDecision."""
    kind = media_type(content_type)
    parser = PARSERS.get(kind)
    if parser is None:
        raise UnsupportedFormat(kind)
    return parser(body)


def media_type(content_type: str) -> str:
    """`Application/JSON; charset=utf-8` -> `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()
