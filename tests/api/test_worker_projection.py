"""The worker's activities project episodes into the SQL read model the API reads."""

from __future__ import annotations

from activities.ports import ProjectionBatch
from store.db import make_engine
from store.sql import SqlReadModel
from tests.support.api_stack import api_settings
from tests.support.intake import new_id
from tests.support.store_factories import events, summary
from worker import build_adapters


async def test_the_workers_activities_project_into_the_database_of_the_settings(
    database_url: str,
) -> None:
    settings = api_settings(DATABASE_URL=database_url)
    episode = summary(new_id(), version=2)
    activities = build_adapters(settings).activities

    stored = await activities.project_events(ProjectionBatch(summary=episode, events=events(1, 2)))

    engine = make_engine(database_url)
    try:
        read_model = SqlReadModel(engine)
        assert stored == 2
        assert read_model.summary(episode.episode_id) == episode
        assert [e.seq for e in read_model.events(episode.episode_id)] == [1, 2]
    finally:
        engine.dispose()
