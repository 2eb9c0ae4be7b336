"""pyx12's validator (the engine of its `x12valid` script) over an X12 text: the errors found."""

from __future__ import annotations

import io
import json
import logging

import pyx12.params
import pyx12.x12n_document


def x12_errors(text: str) -> list[str]:
    """Every error pyx12 reports against its map for the GS08 version (837I: 005010X223A2);
    an empty list means the document is valid."""
    params = pyx12.params.params()
    errors, ack = io.StringIO(), io.StringIO()
    logger = logging.getLogger("pyx12")
    captured = _Capture()
    logger.addHandler(captured)
    try:
        valid = pyx12.x12n_document.x12n_document(
            param=params, src_file=io.StringIO(text), fd_997=ack, fd_html=None, fd_json=errors
        )
    finally:
        logger.removeHandler(captured)
    found = list(_error_strings(json.loads(errors.getvalue() or "{}")))
    found += [line for line in captured.lines if line not in found]
    if not valid and not found:
        found.append("pyx12 found the document invalid without naming an error")
    return found


def _error_strings(node: object) -> list[str]:
    """The `err_str` of every error at every level (interchange, group, set, segment, element)."""
    if isinstance(node, list):
        return [text for item in node for text in _error_strings(item)]
    if not isinstance(node, dict):
        return []
    own = [str(e.get("err_str")) for e in node.get("errors", []) if isinstance(e, dict)]
    nested = [v for k, v in node.items() if k != "errors" and isinstance(v, (list, dict))]
    return own + _error_strings(nested)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
