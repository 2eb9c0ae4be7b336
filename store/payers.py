"""The payer directory's port: how each payer is reached, by which channel, with which credentials.

The table holds references to secrets (`env:NAME`, `file:/path`), never a secret itself.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from domain.policy import PlanType

Channel = Literal["pas", "x12", "webhook"]
SigningAlgorithm = Literal["RS384", "ES384"]
PAYER_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
SECRET_REF = re.compile(r"(env:[A-Za-z_][A-Za-z0-9_]{0,127}|file:/\S{1,500})")
# Current secret first, then the previous ones a payer may still sign with during a rotation.
MAX_WEBHOOK_SECRETS = 3


def _is_reference(value: str) -> str:
    if not SECRET_REF.fullmatch(value):
        raise ValueError(
            "must be a reference to a secret, `env:NAME` (an environment variable) or "
            "`file:/absolute/path`, never the secret itself"
        )
    return value


SecretRef = Annotated[str, AfterValidator(_is_reference)]
HttpUrl = Annotated[str, Field(pattern=r"^https?://\S+$", max_length=500)]


class PasEndpoint(BaseModel):
    """Where a Da Vinci PAS payer listens and how we authenticate (SMART Backend Services)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: HttpUrl
    token_url: HttpUrl
    client_id: str = Field(min_length=1, max_length=200)
    # The PEM private key the client assertion is signed with, registered with the payer.
    private_key: SecretRef
    key_id: str | None = Field(default=None, max_length=200)
    algorithm: SigningAlgorithm = "RS384"
    scope: str = Field(default="system/Claim.write system/ClaimResponse.read", max_length=500)


class PayerSettings(BaseModel):
    """What an admin sets for one payer (`PUT /payers/{payer_id}`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plan_type: PlanType
    channel: Channel
    display_name: str | None = Field(default=None, max_length=200)
    pas: PasEndpoint | None = None
    # Empty: the secrets of STEPDOWN_WEBHOOK_SECRETS for this payer (or "*"); in dev mode
    # that is the dev webhook secret.
    webhook_secrets: list[SecretRef] = Field(default=[], max_length=MAX_WEBHOOK_SECRETS)
    clearinghouse_mailbox: str | None = Field(
        default=None, max_length=200, pattern=r"^[A-Za-z0-9._-]+$"
    )

    @model_validator(mode="after")
    def _pas_needs_its_endpoint(self) -> PayerSettings:
        if self.channel == "pas" and self.pas is None:
            raise ValueError(
                "channel 'pas' needs `pas`: base_url, token_url, client_id and private_key"
            )
        return self


class PayerEntry(PayerSettings):
    payer_id: str = Field(pattern=PAYER_ID_PATTERN)
    created_at: datetime
    updated_at: datetime


class PayerDirectory(Protocol):
    def get(self, payer_id: str) -> PayerEntry | None: ...

    def put(self, payer_id: str, settings: PayerSettings, at: datetime) -> tuple[PayerEntry, bool]:
        """Creates or replaces the payer's settings; True when it was created."""
        ...

    def list(self) -> list[PayerEntry]:
        """Every payer, by payer id."""
        ...
