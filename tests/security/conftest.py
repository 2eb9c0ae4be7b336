"""The API stack as tests/api builds it (dev server, worker, SQL read model, app over ASGI).

This tier's own session stack, one per database backend, built by tests/support/api_stack.
"""

from __future__ import annotations

from tests.support.api_fixtures import api, api_engine, stack

# Imported into this conftest: this tier's own session stacks (tests/support/api_fixtures.py).
__all__ = ["api", "api_engine", "stack"]
