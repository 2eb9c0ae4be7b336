"""Secrets named by the payer directory's references: `env:NAME` or `file:/path`, read on use."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from settings import Settings
from store.payers import PayerEntry

log = logging.getLogger("stepdown.payers")


class MissingSecret(LookupError):
    """A reference that names no readable secret (the variable is unset, the file unreadable)."""


def resolve(ref: str) -> str:
    """The secret `ref` names; the value is never logged or put in an error."""
    kind, _, name = ref.partition(":")
    if kind == "env":
        value = os.environ.get(name)
        if not value:
            raise MissingSecret(f"environment variable {name} is not set")
        return value
    if kind == "file":
        try:
            return Path(name).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise MissingSecret(f"{name}: {err.strerror or type(err).__name__}") from None
    raise MissingSecret(f"{ref!r} is not an env: or file: reference")


def webhook_secrets(entry: PayerEntry | None, payer_id: str, settings: Settings) -> list[str]:
    """The secrets a payer's webhook may be signed with, current first.

    A directory entry with references uses exactly those (one that cannot be read is
    skipped and logged, so a rotation can remove the old secret before its reference);
    otherwise STEPDOWN_WEBHOOK_SECRETS for the payer or "*" (dev mode: the dev secret).
    """
    if entry is None or not entry.webhook_secrets:
        return settings.secrets_for(payer_id)
    found = []
    for ref in entry.webhook_secrets:
        try:
            found.append(resolve(ref))
        except MissingSecret as err:
            log.warning("webhook secret of payer %s unavailable: %s", payer_id, err)
    return found
