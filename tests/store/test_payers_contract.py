"""The payer directory and submissions log contracts: in-memory fake, SQLite, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from store.db import make_engine
from store.payers import PayerDirectory, PayerSettings
from store.sql_payers import SqlPayerDirectory, SqlSubmissionLog
from store.submissions import NewSubmission, SubmissionLog
from tests.support.db import DATABASES, migrated_database
from tests.support.payer_fakes import InMemoryPayerDirectory, InMemorySubmissionLog
from tests.support.store_factories import T0, new_id

PAS = {
    "base_url": "https://payer.example/fhir",
    "token_url": "https://payer.example/oauth/token",
    "client_id": "stepdown-client",
    "private_key": "file:/etc/stepdown/pas-key.pem",
    "key_id": "k1",
    "algorithm": "ES384",
}


@dataclass(frozen=True)
class PayerStores:
    directory: PayerDirectory
    submissions: SubmissionLog


@pytest.fixture(params=["memory", *DATABASES])
def payer_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PayerStores]:
    if request.param == "memory":
        yield PayerStores(InMemoryPayerDirectory(), InMemorySubmissionLog())
        return
    with migrated_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        try:
            yield PayerStores(SqlPayerDirectory(engine), SqlSubmissionLog(engine))
        finally:
            engine.dispose()


def pas_payer(**overrides: object) -> PayerSettings:
    values = {
        "plan_type": "medicaid_managed_care",
        "channel": "pas",
        "display_name": "Acme Medicaid",
        "pas": PAS,
        "webhook_secrets": ["env:ACME_WEBHOOK_SECRET", "env:ACME_WEBHOOK_SECRET_OLD"],
    }
    return PayerSettings.model_validate(values | overrides)


def test_a_put_payer_reads_back_with_every_field(payer_stores: PayerStores) -> None:
    payer_id = new_id("payer")

    entry, created = payer_stores.directory.put(payer_id, pas_payer(), T0)

    assert created
    assert payer_stores.directory.get(payer_id) == entry
    assert entry.pas is not None and entry.pas.algorithm == "ES384"
    assert entry.webhook_secrets == ["env:ACME_WEBHOOK_SECRET", "env:ACME_WEBHOOK_SECRET_OLD"]
    assert (entry.created_at, entry.updated_at) == (T0, T0)


def test_a_second_put_replaces_the_settings_and_keeps_created_at(
    payer_stores: PayerStores,
) -> None:
    payer_id = new_id("payer")
    payer_stores.directory.put(payer_id, pas_payer(), T0)
    later = T0 + timedelta(hours=1)

    webhook_only = PayerSettings(plan_type="commercial", channel="webhook")
    entry, created = payer_stores.directory.put(payer_id, webhook_only, later)

    assert not created
    assert (entry.channel, entry.pas, entry.webhook_secrets) == ("webhook", None, [])
    assert (entry.created_at, entry.updated_at) == (T0, later)
    assert payer_stores.directory.get(payer_id) == entry


def test_unknown_payer_is_none_and_the_list_is_ordered_by_id(payer_stores: PayerStores) -> None:
    ids = sorted(new_id("payer") for _ in range(3))
    for payer_id in reversed(ids):
        payer_stores.directory.put(payer_id, pas_payer(), T0)

    listed = [entry.payer_id for entry in payer_stores.directory.list()]

    assert payer_stores.directory.get(new_id("missing")) is None
    assert [payer_id for payer_id in listed if payer_id in ids] == ids


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"webhook_secrets": ["whsec-plain-secret"]}, "never the secret itself"),
        ({"pas": PAS | {"private_key": "-----BEGIN PRIVATE KEY-----"}}, "never the secret"),
        ({"pas": None}, "channel 'pas' needs `pas`"),
        ({"channel": "fax"}, "'pas', 'x12' or 'webhook'"),
        ({"webhook_secrets": ["env:A", "env:B", "env:C", "env:D"]}, "at most 3"),
    ],
)
def test_settings_refuse_plain_secrets_and_a_pas_payer_without_endpoint(
    change: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        pas_payer(**change)


def new_submission(episode_id: str, purpose: str = "initial") -> NewSubmission:
    trace = f"SD-{episode_id}-1"
    return NewSubmission(
        idempotency_key=f"{episode_id}:{trace}:{purpose}",
        episode_id=episode_id,
        payer_id="acme",
        trace_number=trace,
        purpose=purpose,
        channel="pas",
        content_type="application/fhir+json",
        payload='{"resourceType": "Bundle"}',
    )


def test_a_submission_is_stored_once_per_idempotency_key(payer_stores: PayerStores) -> None:
    log = payer_stores.submissions
    new = new_submission(new_id("ep"))

    first, inserted = log.start(new, T0)
    again, again_inserted = log.start(new.model_copy(update={"payload": "other"}), T0)

    assert inserted and not again_inserted
    assert again == first and first.payload == '{"resourceType": "Bundle"}'
    assert first.status == "sending"


def test_finishing_keeps_the_answer_and_lists_per_episode_oldest_first(
    payer_stores: PayerStores,
) -> None:
    log = payer_stores.submissions
    episode_id = new_id("ep")
    log.start(new_submission(episode_id), T0)
    log.start(new_submission(episode_id, "inquiry"), T0 + timedelta(minutes=1))
    log.start(new_submission(new_id("ep")), T0)

    done = log.finish(
        f"{episode_id}:SD-{episode_id}-1:initial",
        "answered",
        T0 + timedelta(seconds=2),
        response_status=200,
        response='{"resourceType": "Bundle", "entry": []}',
    )

    listed = log.for_episode(episode_id)
    assert [s.purpose for s in listed] == ["initial", "inquiry"]
    assert listed[0] == done
    assert (done.status, done.response_status) == ("answered", 200)
    assert done.updated_at == T0 + timedelta(seconds=2)
    with pytest.raises(LookupError):
        log.finish("no-such-key", "failed", T0)
