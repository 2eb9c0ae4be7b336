"""Typed, path-reporting access to untrusted FHIR JSON, so every mistake names its element."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from payers.formats.errors import UnparseableDecision

PAS_BASE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"


@dataclass(frozen=True)
class Node:
    """A JSON object together with its FHIR path (for error messages)."""

    data: dict[str, Any]
    path: str

    def get(self, key: str) -> object:
        return self.data.get(key)

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise UnparseableDecision(f"{self.path}.{key} must be a string")
        return value

    def child(self, key: str) -> Node | None:
        value = self.data.get(key)
        if value is None:
            return None
        return as_node(value, f"{self.path}.{key}")

    def children(self, key: str) -> list[Node]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise UnparseableDecision(f"{self.path}.{key} must be an array")
        return [as_node(item, f"{self.path}.{key}[{i}]") for i, item in enumerate(value)]

    def extensions(self, url_suffix: str) -> Iterator[Node]:
        """Extensions whose url is `url_suffix` or ends with '/' or '-' plus it."""
        for ext in self.children("extension"):
            url = ext.text("url")
            if url is None:
                raise UnparseableDecision(f"{ext.path}.url is missing")
            if url == url_suffix or url.endswith(("/" + url_suffix, "-" + url_suffix)):
                yield ext

    def extension(self, url_suffix: str) -> Node | None:
        return next(self.extensions(url_suffix), None)


def as_node(value: object, path: str) -> Node:
    if not isinstance(value, dict):
        raise UnparseableDecision(f"{path} must be a JSON object")
    return Node(value, path)


def codes(concept: Node | None, skip_systems: tuple[str, ...] = ()) -> list[str]:
    """The codes of a CodeableConcept's codings, in order, leaving out `skip_systems`."""
    if concept is None:
        return []
    found = []
    for coding in concept.children("coding"):
        system = coding.text("system") or ""
        code = coding.text("code")
        if code and not system.endswith(skip_systems):
            found.append(code)
    return found
