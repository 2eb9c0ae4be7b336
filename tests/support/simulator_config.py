"""The payer simulator's settings for tests: one shared secret, approvals only, no delays."""

from __future__ import annotations

from typing import Any

from payers.simulator import SimulatorConfig

SECRET = "sim-test-secret"


def config(**overrides: Any) -> SimulatorConfig:
    fields: dict[str, Any] = {
        "api_url": "http://api.test",
        "secrets": {"*": [SECRET]},
        "mix": {"A1": 1.0},
        "formats": {"json": 1.0},
        "delay": 0.0,
        "backoff": 0.0,
        "ops_token": "ops-token",
    }
    return SimulatorConfig(**(fields | overrides))
