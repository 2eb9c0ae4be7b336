"""The read-model contract, run on the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta, timezone
from decimal import Decimal

import pytest

from domain.model import HoldReason
from domain.views import WorklistItem
from store.ports import EventConflict, EventGap, InvalidCursor, ReadModel, WebhookInbox
from tests.support.store_factories import (
    T0,
    events,
    held_claim,
    item,
    new_id,
    released_claim,
    summary,
)

EASTERN = timezone(timedelta(hours=-5))


def test_applying_the_same_events_twice_stores_them_once(read_model: ReadModel) -> None:
    episode = summary()

    first = read_model.apply(episode, events(1, 2, 3), [])
    again = read_model.apply(episode, events(1, 2, 3), [])

    assert (first, again) == (3, 0)
    assert [e.seq for e in read_model.events(episode.episode_id)] == [1, 2, 3]


def test_overlapping_batches_count_only_the_new_events(read_model: ReadModel) -> None:
    episode = summary()
    read_model.apply(episode, events(1, 2), [])

    assert read_model.apply(episode.model_copy(update={"version": 4}), events(1, 2, 3, 4), []) == 2
    assert read_model.last_seq(episode.episode_id) == 4


def test_an_event_redelivered_with_other_content_is_refused_and_nothing_changes(
    read_model: ReadModel,
) -> None:
    episode = summary(version=2)
    read_model.apply(episode, events(1, 2), [])
    changed = events(2, 3)
    changed[0] = changed[0].model_copy(update={"data": {"seq": 2, "forged": True}})

    with pytest.raises(EventConflict, match="seq \\[2\\]"):
        read_model.apply(episode.model_copy(update={"version": 3}), changed, [])

    assert read_model.events(episode.episode_id) == events(1, 2)
    assert read_model.summary(episode.episode_id) == episode


def test_events_after_a_gap_are_refused(read_model: ReadModel) -> None:
    episode = summary()
    read_model.apply(episode, events(1, 2), [])

    with pytest.raises(EventGap):
        read_model.apply(episode, events(4, 5), [])
    with pytest.raises(EventGap):
        read_model.apply(episode, events(3, 5), [])
    with pytest.raises(EventGap):
        read_model.apply(summary(), events(2, 3), [])

    assert read_model.last_seq(episode.episode_id) == 2


def test_a_long_history_is_stored_in_full(read_model: ReadModel) -> None:
    episode = summary(version=2500)

    assert read_model.apply(episode, events(*range(2500, 0, -1)), []) == 2500
    assert read_model.last_seq(episode.episode_id) == 2500
    assert len(read_model.events(episode.episode_id, after=1000)) == 1500


def test_events_come_back_in_order_after_a_sequence_number(read_model: ReadModel) -> None:
    episode = summary()
    stored = events(3, 1, 4, 2, start=T0.astimezone(EASTERN))
    read_model.apply(episode, stored, [])

    after = read_model.events(episode.episode_id, after=2)

    assert after == sorted(stored, key=lambda e: e.seq)[2:]
    assert all(e.at.utcoffset() is not None for e in after)


def test_events_of_an_unknown_episode_are_empty(read_model: ReadModel) -> None:
    assert read_model.events(new_id()) == []
    assert read_model.last_seq(new_id()) == 0


def test_summary_reads_back_what_was_applied(read_model: ReadModel) -> None:
    episode_id = new_id()
    episode = summary(
        episode_id,
        next_deadline=T0 + timedelta(days=7),
        worklist=[item(episode_id, "payer_decision_overdue", T0 + timedelta(days=7))],
    )
    read_model.apply(episode, [], [])

    assert read_model.summary(episode_id) == episode
    assert read_model.summary(new_id()) is None


def test_older_summary_does_not_overwrite_newer(read_model: ReadModel) -> None:
    episode_id = new_id()
    newer = summary(
        episode_id,
        state="authorized",
        version=5,
        held_claims=0,
        worklist=[item(episode_id, "authorization_expiring", T0 + timedelta(days=20))],
    )
    older = summary(
        episode_id,
        state="auth_requested",
        version=3,
        held_claims=1,
        worklist=[item(episode_id, "claims_held", T0)],
    )
    read_model.apply(newer, events(1, 2, 3, 4, 5), [released_claim()])

    read_model.apply(older, events(1, 2, 3), [held_claim()])

    assert read_model.summary(episode_id) == newer
    assert read_model.claims(episode_id) == [released_claim()]
    assert read_model.worklist() == newer.worklist
    assert read_model.list_episodes(state="auth_requested") == ([], None)


def test_summary_of_the_same_version_replaces_the_stored_one(read_model: ReadModel) -> None:
    episode_id = new_id()
    read_model.apply(summary(episode_id, version=2), events(1, 2), [])
    # A rebuild re-projects the same version, e.g. with the worklist computed at a later time.
    rebuilt = summary(episode_id, version=2, worklist=[item(episode_id, "claims_held", T0)])

    read_model.apply(rebuilt, events(1, 2), [held_claim()])

    assert read_model.summary(episode_id) == rebuilt
    assert read_model.claims(episode_id) == [held_claim()]


def test_claims_round_trip_and_are_upserted_by_claim_id(read_model: ReadModel) -> None:
    episode_id = new_id()
    read_model.apply(summary(episode_id, version=1), events(1), [held_claim("C-1")])

    # A later batch carries only the claims its events touched; C-1 stays as it was.
    read_model.apply(
        summary(episode_id, version=2), events(2), [released_claim("C-2", through=T0.date())]
    )
    assert read_model.claims(episode_id) == [
        released_claim("C-2", through=T0.date()),
        held_claim("C-1"),
    ]
    read_model.apply(summary(episode_id, version=3), events(3), [released_claim("C-1")])
    assert read_model.claims(episode_id) == [
        released_claim("C-2", through=T0.date()),
        released_claim("C-1"),
    ]
    assert read_model.claims(new_id()) == []


def test_dropped_lines_and_superseded_by_survive_the_round_trip(read_model: ReadModel) -> None:
    episode_id = new_id()
    short = HoldReason(code="below_minimum_minutes", detail="too short", lines=("S-9",))
    held = held_claim("C-1").model_copy(update={"dropped": [short]})
    read_model.apply(summary(episode_id, version=1), events(1), [held])
    assert read_model.claims(episode_id) == [held]

    replaced = held.model_copy(update={"status": "superseded", "superseded_by": "C-2"})
    withdrawn = held_claim("C-3").model_copy(update={"status": "superseded"})
    released = released_claim("C-2").model_copy(update={"dropped": [short]})
    read_model.apply(summary(episode_id, version=2), events(2), [replaced, released, withdrawn])

    stored = {c.claim_id: c for c in read_model.claims(episode_id)}
    assert stored["C-1"].superseded_by == "C-2" and stored["C-1"].dropped == [short]
    assert stored["C-2"] == released and stored["C-2"].superseded_by is None
    assert stored["C-3"].status == "superseded" and stored["C-3"].superseded_by is None
    assert stored["C-3"].dropped == []


def test_list_pages_with_cursor_newest_first(read_model: ReadModel) -> None:
    opened = [T0 + timedelta(hours=h) for h in (0, 1, 1, 2, 3)]
    ids = [new_id() for _ in opened]
    for episode_id, at in zip(ids, opened, strict=True):
        read_model.apply(summary(episode_id, opened_at=at), [], [])
    # Newest first; the two opened in the same hour fall back to episode id, descending.
    tied = sorted(ids[1:3], reverse=True)
    expected = [ids[4], ids[3], *tied, ids[0]]

    pages, cursor = [], None
    for _ in range(len(ids) + 1):  # a cursor that never ends fails instead of hanging
        page, cursor = read_model.list_episodes(limit=2, cursor=cursor)
        pages.append([s.episode_id for s in page])
        if cursor is None:
            break

    assert pages == [expected[0:2], expected[2:4], expected[4:5]]


def test_last_full_page_has_no_cursor(read_model: ReadModel) -> None:
    for hour in range(2):
        read_model.apply(summary(opened_at=T0 + timedelta(hours=hour)), [], [])

    page, cursor = read_model.list_episodes(limit=2)

    assert len(page) == 2
    assert cursor is None


def test_list_filters_by_state_payer_and_due_before(read_model: ReadModel) -> None:
    payer = new_id("payer")
    due = T0 + timedelta(days=3)
    wanted = summary(payer_id=payer, state="denied", next_deadline=due.astimezone(EASTERN))
    others = [
        summary(payer_id=payer, state="authorized", next_deadline=due),
        summary(state="denied", next_deadline=due),
        summary(payer_id=payer, state="denied", next_deadline=due + timedelta(seconds=1)),
        summary(payer_id=payer, state="denied", next_deadline=None),
    ]
    for episode in [wanted, *others]:
        read_model.apply(episode, [], [])

    page, cursor = read_model.list_episodes(state="denied", payer_id=payer, due_before=due)

    assert [s.episode_id for s in page] == [wanted.episode_id]
    assert cursor is None


@pytest.mark.parametrize("cursor", ["not a cursor", "bm90IGpzb24=", "WzEsIDJd"])
def test_list_refuses_a_cursor_it_did_not_hand_out(read_model: ReadModel, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        read_model.list_episodes(cursor=cursor)


def test_list_refuses_a_limit_below_one(read_model: ReadModel) -> None:
    with pytest.raises(ValueError, match="limit"):
        read_model.list_episodes(limit=0)


def test_worklist_is_most_urgent_first(read_model: ReadModel) -> None:
    first, second = new_id(), new_id()
    read_model.apply(
        summary(
            first,
            worklist=[
                item(first, "claims_held", None),
                item(first, "appeal_due", T0 + timedelta(days=2)),
            ],
        ),
        [],
        [],
    )
    read_model.apply(
        summary(second, worklist=[item(second, "p2p_window_closing", T0.astimezone(EASTERN))]),
        [],
        [],
    )

    kinds = [(i.episode_id, i.kind) for i in read_model.worklist()]

    assert kinds == [(second, "p2p_window_closing"), (first, "appeal_due"), (first, "claims_held")]


def test_worklist_filters_by_kind_and_payer(read_model: ReadModel) -> None:
    payer = new_id("payer")
    mine, theirs = new_id(), new_id()
    read_model.apply(
        summary(mine, payer_id=payer, worklist=[item(mine, "info_requested", T0)]), [], []
    )
    read_model.apply(
        summary(
            theirs, worklist=[item(theirs, "info_requested", T0), item(theirs, "claims_held", T0)]
        ),
        [],
        [],
    )

    assert [i.episode_id for i in read_model.worklist(payer_id=payer)] == [mine]
    assert [i.kind for i in read_model.worklist(kind="claims_held")] == ["claims_held"]


def test_unmatched_delivery_appears_on_worklist(read_model: ReadModel, inbox: WebhookInbox) -> None:
    payer, delivery = new_id("payer"), new_id("dlv")
    inbox.receive(delivery, payer, "application/json", {}, b"{}", T0 - timedelta(hours=1))
    inbox.mark(delivery, "unmatched", response={"status": "unmatched"})
    episode_id = new_id()
    read_model.apply(summary(episode_id, worklist=[item(episode_id, "claims_held", T0)]), [], [])

    worklist = read_model.worklist()

    assert [(i.kind, i.due) for i in worklist] == [
        ("webhook_unmatched", T0 - timedelta(hours=1)),
        ("claims_held", T0),
    ]
    assert delivery in worklist[0].detail and payer in worklist[0].detail
    assert [i.kind for i in read_model.worklist(kind="webhook_unmatched")] == ["webhook_unmatched"]
    assert read_model.worklist(payer_id=new_id("payer")) == []


def test_delivery_matched_later_leaves_the_worklist(
    read_model: ReadModel, inbox: WebhookInbox
) -> None:
    delivery = new_id("dlv")
    inbox.receive(delivery, "acme-medicaid", "application/json", {}, b"{}", T0)
    inbox.mark(delivery, "unmatched")

    inbox.mark(delivery, "applied", episode_id=new_id())

    assert read_model.worklist() == []


def test_deleting_an_episode_clears_its_derived_rows_and_keeps_the_record(
    read_model: ReadModel,
) -> None:
    episode_id = new_id()
    episode = summary(episode_id, version=3, worklist=[item(episode_id, "claims_held", T0)])
    read_model.apply(episode, events(1, 2, 3), [held_claim()])

    read_model.delete_episode(episode_id)

    assert read_model.summary(episode_id) is None
    assert read_model.claims(episode_id) == []
    assert read_model.worklist() == []
    assert read_model.events(episode_id) == events(1, 2, 3)
    assert read_model.apply(episode.model_copy(update={"version": 1}), events(1, 2, 3), []) == 0
    assert read_model.summary(episode_id) == episode.model_copy(update={"version": 1})


def test_due_before_compares_instants_not_offsets(read_model: ReadModel) -> None:
    episode = summary(opened_at=T0.astimezone(EASTERN), next_deadline=T0.astimezone(EASTERN))
    read_model.apply(episode, [], [])

    (listed,), _ = read_model.list_episodes(due_before=T0)

    assert listed.opened_at == T0 and listed.next_deadline == T0
    assert read_model.list_episodes(due_before=T0 - timedelta(microseconds=1)) == ([], None)


def test_undated_items_rank_by_age_and_value_among_the_dated(read_model: ReadModel) -> None:
    """An undated item is ranked at ranked_at: 14 days after it began waiting, a day sooner
    per $1,000 at stake; age and value come back as they were stored."""
    old, rich, fresh, dated, bare = (new_id() for _ in range(5))
    undated = {
        # Waiting 20 days: ranks as due 6 days before T0.
        old: WorklistItem.model_validate(
            {
                "episode_id": old,
                "kind": "claims_held",
                "due": None,
                "detail": "old",
                "since": T0 - timedelta(days=20),
                "value": "80.00",
            }
        ),
        # Waiting 3 days but $12,345.67 held: ranks as due 1 day before T0.
        rich: WorklistItem.model_validate(
            {
                "episode_id": rich,
                "kind": "claims_held",
                "due": None,
                "detail": "rich",
                "since": T0 - timedelta(days=3),
                "value": "12345.67",
            }
        ),
        # Waiting 1 day, little at stake: ranks as due 13 days after T0.
        fresh: WorklistItem.model_validate(
            {
                "episode_id": fresh,
                "kind": "deliver_claim_failed",
                "due": None,
                "detail": "fresh",
                "since": T0 - timedelta(days=1),
            }
        ),
    }
    for episode_id, entry in undated.items():
        read_model.apply(summary(episode_id, worklist=[entry]), [], [])
    read_model.apply(summary(dated, worklist=[item(dated, "appeal_due", T0)]), [], [])
    read_model.apply(summary(bare, worklist=[item(bare, "claims_held", None)]), [], [])

    ranked = read_model.worklist()

    assert [i.episode_id for i in ranked] == [old, rich, dated, fresh, bare]
    assert [(i.since, i.value) for i in ranked[:2]] == [
        (T0 - timedelta(days=20), Decimal("80.00")),
        (T0 - timedelta(days=3), Decimal("12345.67")),
    ]
    assert ranked[3].value is None and ranked[4].since is None


def test_undated_items_waiting_as_long_rank_more_money_first(read_model: ReadModel) -> None:
    small, large = new_id(), new_id()
    for episode_id, value in ((small, "100.00"), (large, "900.00")):
        entry = WorklistItem.model_validate(
            {
                "episode_id": episode_id,
                "kind": "claims_held",
                "due": None,
                "detail": "held",
                "since": T0,
                "value": value,
            }
        )
        read_model.apply(summary(episode_id, worklist=[entry]), [], [])

    assert [i.episode_id for i in read_model.worklist()] == [large, small]
