"""Effects written by an earlier release (facts in a `detail` dict) become the very activity
arguments that release built from them (workflows/effects.py activity_call), and effects
carried across continue-as-new keep their shape (workflows/lanes.py PendingEffect).

The expected arguments below are what activity_call built from these old-shape effects before
effects were typed classes, written down from that code's output."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter

from activities.episode import (
    AuthorizationSubmission,
    EpisodeActivities,
    ExtensionSubmission,
    PeerToPeerRequest,
    PendedInquiry,
)
from activities.ports import Message, Notification, OutboundClaim
from domain.effects import Effect, SubmitRequest
from domain.state import Episode
from tests.support.effect_payloads import ATTENDANCE_SUMMARY_JSON
from tests.support.scenario import Scenario
from workflows.effects import activity_call
from workflows.models import EpisodeInput
from workflows.temporal import DATA_CONVERTER

TRACE = "SD-B51863FA4D-1"
IDS = {"episode_id": "ep-effects", "payer_id": "acme-medicaid"}
SERVICES = ["S9480", "90853", "0905"]
SUMMARY: dict[str, Any] = ATTENDANCE_SUMMARY_JSON


def payload(purpose: str, **tail: Any) -> dict[str, Any]:
    """The request payload of the episode below, in the order the earlier code wrote it."""
    return {
        "purpose": purpose,
        "units": 20,
        "requested": {"start": "2026-11-23", "units": 20, "unit_type": "days",
                      "service_codes": SERVICES},
        "from_level": "2.5",
        "to_level": "2.1",
        "asam_edition": 3,
        "dimensions": {"1": 0, "2": 1, "3": 2, "4": 2, "5": 3, "6": 2},
        "diagnoses": ["F33.1"],
        "urgency": "standard",
        "member_id": "MCD123456",
        "authorizations": [{"number": "AUTH-1", "start": "2026-11-23", "end": "2026-12-31",
                            "units": 20, "unit_type": "days", "service_codes": SERVICES}],
        "patient": {"name": "Jane Roe", "birth_date": "1990-04-01"},
        "plan_type": "medicaid_managed_care",
        "setting": "cmhc",
        "attendance": [],
        "attendance_summary": None,
        **tail,
    }  # fmt: skip


def p2p_payload(attachments: list[int]) -> dict[str, Any]:
    return {"key": "p2p-1", **payload("p2p"), "attachments": attachments}


# (old-shape effect, the activity, the argument the earlier code built from it)
CASES: dict[str, tuple[dict[str, Any], Any, Message]] = {
    "submit_initial": (
        {"kind": "submit_request", "key": TRACE, "attempt": 0,
         "detail": {"trace_number": TRACE, "purpose": "initial", "units": 20}},
        EpisodeActivities.submit_authorization_request,
        AuthorizationSubmission(**IDS, trace_number=TRACE, purpose="initial",
                                payload=payload("initial"), attempt=0),
    ),
    "submit_extension": (
        {"kind": "submit_request", "key": "T-EXT", "attempt": 1,
         "detail": {"trace_number": "T-EXT", "purpose": "extension", "units": 20,
                    "attendance": ["2026-11-23"], "attendance_summary": SUMMARY}},
        EpisodeActivities.submit_extension_request,
        ExtensionSubmission(**IDS, trace_number="T-EXT", attempt=1, payload=payload(
            "extension", attendance=["2026-11-23"], attendance_summary=SUMMARY)),
    ),
    "inquire_payer": (
        {"kind": "inquire_payer", "key": f"{TRACE}:2", "attempt": 1,
         "detail": {"trace_number": TRACE, "purpose": "initial", "units": 20, "inquiry": 2}},
        EpisodeActivities.inquire_payer,
        PendedInquiry(**IDS, trace_number=TRACE, purpose="initial", attempt=2, retry=1,
                      payload=payload("initial")),
    ),
    "request_p2p": (
        {"kind": "request_p2p", "key": "p2p-1", "attempt": 0,
         "detail": {"attachments": [3, 5]}},
        EpisodeActivities.request_peer_to_peer,
        PeerToPeerRequest(**IDS, trace_number=TRACE, attempt=0, payload=p2p_payload([3, 5])),
    ),
    "request_p2p_bare": (
        {"kind": "request_p2p", "key": "p2p-1", "attempt": 2, "detail": {}},
        EpisodeActivities.request_peer_to_peer,
        PeerToPeerRequest(**IDS, trace_number=TRACE, attempt=2, payload=p2p_payload([])),
    ),
    "deliver_claim": (
        {"kind": "deliver_claim", "key": "C-1", "attempt": 1,
         "detail": {"claim": {"claimId": "C-1", "lines": []}}},
        EpisodeActivities.deliver_claim,
        OutboundClaim(episode_id="ep-effects", claim_id="C-1",
                      claim={"claimId": "C-1", "lines": []}, resend=True),
    ),
    "notify": (
        {"kind": "notify", "key": "7", "attempt": 0,
         "detail": {"kind": "denied", "detail": "not medically necessary"}},
        EpisodeActivities.notify_staff,
        Notification(episode_id="ep-effects", kind="denied", detail="not medically necessary",
                     key="7"),
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def approved() -> Episode:
    s = Scenario(episode_id="ep-effects")
    s.approve(units=20)
    assert s.trace == TRACE
    return s.state


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_old_shape_effect_builds_the_argument_it_built_before(
    approved: Episode, case: str
) -> None:
    old, activity, expected = CASES[case]
    effect = TypeAdapter(Effect).validate_python(old)

    fn, arg = activity_call(approved, effect)

    assert fn is activity
    assert type(arg) is type(expected)
    # Same fields in the same order: the activity's input payload is unchanged byte for byte.
    assert arg.model_dump_json() == expected.model_dump_json()


def test_an_effect_carried_across_continue_as_new_keeps_its_shape() -> None:
    old, _, _ = CASES["submit_extension"]
    opened = Scenario(episode_id="ep-effects").command.model_dump(mode="json")
    written = {"open": opened, "pending_effects": [{"seq": 4, "effect": old}]}

    carried = EpisodeInput.model_validate(written)

    [pending] = carried.pending_effects
    assert isinstance(pending.effect, SubmitRequest) and pending.effect.purpose == "extension"
    assert pending.id == "submit_request:T-EXT:1"
    # A worker of the earlier release reads what this one writes: the payload Temporal stores
    # holds the effect in the earlier shape.
    [payload] = DATA_CONVERTER.payload_converter.to_payloads([carried])
    assert json.loads(payload.data)["pending_effects"] == [{"seq": 4, "effect": old}]
    [read] = DATA_CONVERTER.payload_converter.from_payloads([payload], [EpisodeInput])
    assert read == carried
