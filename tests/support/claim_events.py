"""Projection batches that release claims, built from the domain the way the workflow does."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from domain.claims import Released, gate
from domain.events import ClaimReleased
from domain.views import EpisodeSummary, StoredEvent
from tests.support.domain_factories import episode, opened_event, service
from tests.support.intake import ADDRESS, ATTENDING
from tests.support.store_factories import summary

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def stored(seq: int, event) -> StoredEvent:
    data = event.model_dump(mode="json", exclude={"type", "at"})
    return StoredEvent(seq=seq, type=event.type, at=event.at, data=data)


class ReleasingEpisode:
    """One episode whose projection batches open it, then release one claim each."""

    def __init__(self, name: str = "Jane Roe", **opened) -> None:
        self.opened = opened_event(
            patient={
                "id": "P-1",
                "name": name,
                "birth_date": date(1990, 4, 1),
                "member_id": "M1",
                "address": ADDRESS,
            },
            attending=ATTENDING,
            **opened,
        )
        self.episode_id = self.opened.episode_id
        self.seq = 1
        self.claims: list[str] = []

    def opening(self) -> tuple[EpisodeSummary, list[StoredEvent]]:
        return summary(self.episode_id, version=1), [stored(1, self.opened)]

    def release(self, day: int = 24) -> tuple[EpisodeSummary, list[StoredEvent]]:
        state = episode(opened=self.opened, services=[service(date=date(2026, 11, day))])
        verdict = gate(state, date(2026, 11, 30))
        assert isinstance(verdict, Released)
        claim_id = f"C-{uuid.uuid4().hex[:8]}"
        self.claims.append(claim_id)
        self.seq += 1
        event = ClaimReleased(
            at=AT + timedelta(minutes=self.seq),
            claim_id=claim_id,
            claim=verdict.claim,
            service_ids=verdict.service_ids,
        )
        return summary(self.episode_id, version=self.seq), [stored(self.seq, event)]

    def claim_keys(self) -> set[tuple[str, str]]:
        return {(self.episode_id, claim_id) for claim_id in self.claims}
