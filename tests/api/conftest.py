"""The API over real parts: the dev server, a worker projecting into SQL, the app over ASGI.

One stack per database backend for the whole session (SQLite, then PostgreSQL); tests keep
apart by uuid episode and payer ids. No lifespan runs, so no background redelivery loop
touches another test's inbox rows; the tests that need the loop run it themselves.
"""

from __future__ import annotations

from tests.support.api_fixtures import api, api_engine, stack

# Imported into this conftest: this tier's own session stacks (tests/support/api_fixtures.py).
__all__ = ["api", "api_engine", "stack"]
