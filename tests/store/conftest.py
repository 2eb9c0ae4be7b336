"""Each store port built on the in-memory fake, SQLite and PostgreSQL, one fresh store per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from store.db import make_engine
from store.ports import AuditLog, ReadModel, WebhookInbox
from store.sql import SqlAuditLog, SqlReadModel, SqlWebhookInbox
from tests.support.db import DATABASES, database_engine, database_url, migrated_database
from tests.support.store_fakes import InMemoryAuditLog, InMemoryReadModel, InMemoryWebhookInbox

# Imported, not only left to the root conftest's plugin, so this suite runs on its own.
__all__ = ["database_engine", "database_url"]


@dataclass(frozen=True)
class Stores:
    read_model: ReadModel
    inbox: WebhookInbox
    audit_log: AuditLog


def memory_stores() -> Stores:
    audit_log = InMemoryAuditLog()
    inbox = InMemoryWebhookInbox(audit_log)
    return Stores(InMemoryReadModel(inbox), inbox, audit_log)


@pytest.fixture(params=["memory", *DATABASES])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "memory":
        yield memory_stores()
        return
    with migrated_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        try:
            yield Stores(SqlReadModel(engine), SqlWebhookInbox(engine), SqlAuditLog(engine))
        finally:
            engine.dispose()


@pytest.fixture
def read_model(stores: Stores) -> ReadModel:
    return stores.read_model


@pytest.fixture
def inbox(stores: Stores) -> WebhookInbox:
    return stores.inbox


@pytest.fixture
def audit_log(stores: Stores) -> AuditLog:
    return stores.audit_log
