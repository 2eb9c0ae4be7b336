"""One validated settings object for every process; refuses dev secrets outside dev mode."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_TOKENS = {
    "dev-intake": "intake",
    "dev-billing": "billing",
    "dev-ops": "ops",
    "dev-admin": "admin",
}
DEV_WEBHOOK_SECRET = "dev-webhook-secret"
DATA_DIR = Path(".stepdown")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", env_file=None, extra="ignore")

    dev_mode: bool = Field(default=False, alias="STEPDOWN_DEV")
    database_url: str = Field(default=f"sqlite:///{DATA_DIR}/stepdown.db", alias="DATABASE_URL")
    temporal_address: str = Field(default="127.0.0.1:7233", alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", alias="TEMPORAL_NAMESPACE")
    task_queue: str = Field(default="stepdown-episodes", alias="STEPDOWN_TASK_QUEUE")
    # token -> role; JSON in the environment, e.g. {"<token>": "ops"}.
    api_tokens: dict[str, str] = Field(default_factory=dict, alias="STEPDOWN_API_TOKENS")
    # payer id -> list of secrets (several during a rotation); "*" applies to every payer.
    webhook_secrets: dict[str, list[str]] = Field(
        default_factory=dict, alias="STEPDOWN_WEBHOOK_SECRETS"
    )
    webhook_tolerance_seconds: int = Field(default=300, alias="STEPDOWN_WEBHOOK_TOLERANCE")
    continue_as_new_after_events: int = Field(default=500, alias="STEPDOWN_CAN_AFTER_EVENTS")
    api_host: str = Field(default="127.0.0.1", alias="STEPDOWN_API_HOST")
    api_port: int = Field(default=8000, alias="STEPDOWN_API_PORT")
    temporal_ui_port: int = Field(default=8233, alias="STEPDOWN_TEMPORAL_UI_PORT")

    @model_validator(mode="after")
    def _dev_values_only_in_dev(self) -> Settings:
        if self.dev_mode:
            if not self.api_tokens:
                self.api_tokens = dict(DEV_TOKENS)
            if not self.webhook_secrets:
                self.webhook_secrets = {"*": [DEV_WEBHOOK_SECRET]}
            return self
        dev_tokens = set(DEV_TOKENS) & set(self.api_tokens)
        dev_secret = any(DEV_WEBHOOK_SECRET in s for s in self.webhook_secrets.values())
        if dev_tokens or dev_secret:
            raise ValueError("dev tokens or the dev webhook secret are configured outside dev mode")
        return self

    def secrets_for(self, payer_id: str) -> list[str]:
        return self.webhook_secrets.get(payer_id) or self.webhook_secrets.get("*", [])


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
