"""The API stack of tests/api (dev server, worker, SQL read model, app over ASGI), reused here."""

from tests.api.conftest import api, api_engine, stack

__all__ = ["api", "api_engine", "stack"]
