"""The two errors a payer webhook body can produce when it cannot become a PayerDecision."""

from __future__ import annotations


class UnsupportedFormat(ValueError):
    """The Content-Type names a media type no parser handles."""

    def __init__(self, media_type: str) -> None:
        self.media_type = media_type
        super().__init__(
            f"unsupported media type {media_type!r}: send application/json, "
            "application/fhir+json or application/edi-x12"
        )


class UnparseableDecision(ValueError):
    """The body is in a supported format but does not hold a usable decision."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)
