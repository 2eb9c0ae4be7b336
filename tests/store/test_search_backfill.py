"""Revision 0130 gives the episodes projected before it their search keys."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import insert

from store.db import alembic_config, make_engine
from store.schema import EpisodeRow, EventRow
from store.sql import SqlReadModel
from tests.support.store_factories import summary

AT = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_the_migration_keys_episodes_projected_before_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0001")
    engine = make_engine(url)
    old = summary("ep-old")
    patient = {"id": "P", "name": "Zoë Marsh", "birth_date": "1970-01-01", "member_id": "M77"}
    with engine.begin() as connection:
        connection.execute(
            insert(EpisodeRow).values(
                episode_id="ep-old", state="authorized", payer_id="p", plan_type="commercial",
                trace_number=None, next_deadline=None, authorization_end=None, held_claims=0,
                version=3, opened_at=AT, updated_at=AT, summary_json=old.model_dump(mode="json"),
            )
        )  # fmt: skip
        connection.execute(
            insert(EventRow),
            [
                {"episode_id": "ep-old", "seq": 1, "type": "episode_opened", "at": AT,
                 "data": {"patient": patient}},
                {"episode_id": "ep-old", "seq": 2, "type": "authorization_requested", "at": AT,
                 "data": {"trace_number": "SD-ep-old-1"}},
                {"episode_id": "ep-old", "seq": 3, "type": "authorization_granted", "at": AT,
                 "data": {"authorization": {"number": "AUTH-OLD"}}},
            ],
        )  # fmt: skip

    command.upgrade(config, "head")
    read_model = SqlReadModel(engine)

    for q in ("zoe", "Marsh", "m77", "sd-ep-old-1", "AUTH-OLD"):
        page, _ = read_model.list_episodes(q=q)
        assert [s.episode_id for s in page] == ["ep-old"], q
    engine.dispose()
