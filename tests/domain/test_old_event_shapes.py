"""Events recorded before issue 12 still read: every new field has a default."""

from __future__ import annotations

from domain.events import EVENT_ADAPTER
from domain.state import CURRENT_RULES, Episode, PendingRequest

CLAIM = {
    "type_of_bill": "0762",
    "condition_codes": ["92"],
    "patient_status": "30",
    "from": "2026-11-24",
    "through": "2026-11-24",
    "lines": [
        {
            "service_id": "S-1",
            "revenue_code": "0905",
            "hcpcs": "S9480",
            "modifiers": [],
            "date": "2026-11-24",
            "units": 1,
            "charge": "150.00",
        }
    ],
}


def test_a_claim_released_before_dropped_lines_and_authorization_numbers_reads():
    event = EVENT_ADAPTER.validate_python(
        {
            "type": "claim_released",
            "at": "2026-11-25T10:00:00Z",
            "claim_id": "C-1",
            "claim": CLAIM,
            "service_ids": ["S-1"],
        }
    )
    assert event.dropped == () and event.claim.authorization_number is None  # type: ignore[union-attr]
    assert event.claim.lines[0].authorization_number is None  # type: ignore[union-attr]


def test_a_held_claim_and_a_request_from_before_read_with_defaults():
    held = EVENT_ADAPTER.validate_python(
        {
            "type": "claim_held",
            "at": "2026-11-25T10:00:00Z",
            "claim_id": "C-1",
            "through": "2026-11-30",
            "service_ids": ["S-1"],
            "reasons": [{"code": "no_authorization", "detail": "x"}],
        }
    )
    assert held.dropped == () and held.replaces is None  # type: ignore[union-attr]
    request = EVENT_ADAPTER.validate_python(
        {
            "type": "authorization_requested",
            "at": "2026-11-25T10:00:00Z",
            "trace_number": "SD-1",
            "purpose": "extension",
            "decision_due": "2026-12-02T10:00:00Z",
            "units": 20,
        }
    )
    assert request.attendance == ()  # type: ignore[union-attr]


def test_a_snapshot_from_before_reads_under_the_current_rules_with_empty_attendance():
    state = Episode.model_validate({"episode_id": "ep-1", "status": "referred"})
    assert state.rules == CURRENT_RULES == 4
    assert state.attendance == {} and state.voided_services == {}
    pending = PendingRequest.model_validate(
        {"trace_number": "SD-1", "purpose": "initial", "decision_due": "2026-12-02T10:00:00Z"}
    )
    assert pending.requested_on is None and not pending.extended
