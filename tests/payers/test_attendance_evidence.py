"""An extension request carries the attendance evidence (DOMAIN §5, issue 12): days and hours
attended, missed sessions, units used — in the PAS Bundle's Claim.supportingInfo (validated by
the fhir.resources R4B models) and in the 278's first 2000F MSG (checked by the X217 layout
check: pyx12 ships no 005010X217 map)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from domain.attendance import AttendanceSummary, ProgramSchedule, WeekBelow
from payers.formats.attendance_evidence import ATTENDANCE_SYSTEM, MSG_LIMIT, x12_note
from payers.formats.pas_request import bundle_json, submit_bundle
from payers.formats.x12_request import build_278_request
from payers.formats.x12_request_read import parse_278_request
from payers.formats.x217 import check_278_request
from payers.x12_gateway import request_278
from tests.payers.test_pas_request import NOW, PROVIDER, as_json, resources
from tests.payers.test_pas_request import request as pas_request
from tests.payers.test_x12_gateway import PARTIES
from tests.payers.test_x12_request import envelope, segments

MON = date(2026, 11, 23)
AUTHORIZATIONS = [
    {"number": "AUTH-1", "start": "2026-11-23", "end": "2026-12-10", "units": 20,
     "unit_type": "days", "service_codes": ["S9480", "90853", "0905"]},
]  # fmt: skip


def summary(**overrides: Any) -> dict[str, Any]:
    """The JSON the workflow puts in the payload: the domain's own model, dumped."""
    value = AttendanceSummary(
        first=MON,
        last=date(2026, 12, 4),
        days_attended=7,
        sessions_attended=8,
        hours_attended=Decimal("21.50"),
        no_shows=(date(2026, 11, 25), date(2026, 12, 2)),
        late_cancels=(date(2026, 11, 30),),
        excused=1,
        schedule=ProgramSchedule(days_per_week=3, hours_per_day=Decimal("3")),
        level="2.1",
        weeks_below=(WeekBelow(week=date(2026, 11, 30), hours=Decimal("6.00"), minimum=9),),
        authorization_number="AUTH-1",
        units_used=7,
        units_approved=20,
        unit_type="days",
    )
    return value.model_copy(update=overrides).model_dump(mode="json")


def extension(evidence: dict[str, Any] | None) -> Any:
    return pas_request("extension", authorizations=AUTHORIZATIONS, attendance_summary=evidence)


def attendance_facts(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    claim = resources(document)["Claim/claim"]
    found: dict[str, list[dict[str, Any]]] = {}
    for info in claim["supportingInfo"]:
        coding = info["code"]["coding"][0]
        if coding["system"] == ATTENDANCE_SYSTEM:
            found.setdefault(coding["code"], []).append(info)
    return found


def test_the_pas_extension_claim_carries_days_hours_missed_sessions_and_units_used() -> None:
    bundle = submit_bundle(extension(summary()), PROVIDER, "Acme Medicaid", NOW)
    Bundle.model_validate_json(bundle_json(bundle))  # the bytes sent are valid R4B
    document = as_json(bundle)
    facts = attendance_facts(document)

    period = {"start": "2026-11-23", "end": "2026-12-04"}
    [days] = facts["days-attended"]
    assert days["valueQuantity"]["value"] == 7 and days["timingPeriod"] == period
    assert facts["sessions-attended"][0]["valueQuantity"]["value"] == 8
    assert facts["hours-attended"][0]["valueQuantity"] == {
        "value": 21.5, "unit": "hours", "system": "http://unitsofmeasure.org", "code": "h"
    }  # fmt: skip
    assert facts["sessions-missed"][0]["valueQuantity"]["value"] == 3
    assert [f["timingDate"] for f in facts["no-show"]] == ["2026-11-25", "2026-12-02"]
    assert [f["timingDate"] for f in facts["late-cancel"]] == ["2026-11-30"]
    assert facts["sessions-excused"][0]["valueQuantity"]["value"] == 1
    [week] = facts["week-below-minimum"]
    assert week["timingPeriod"] == {"start": "2026-11-30", "end": "2026-12-06"}
    assert "6.00 hours attended, below the 9 hours a week" in week["valueString"]
    assert facts["units-used"][0]["valueQuantity"] == {"value": 7, "unit": "days"}
    assert facts["units-approved"][0]["valueQuantity"] == {"value": 20, "unit": "days"}
    assert facts["schedule"][0]["valueString"] == "3 days a week, 3 hours a day"
    # Every supporting fact keeps its own sequence after the ASAM facts.
    sequences = [i["sequence"] for i in resources(document)["Claim/claim"]["supportingInfo"]]
    assert sequences == list(range(1, len(sequences) + 1))


def test_a_request_without_attendance_carries_no_attendance_facts() -> None:
    for evidence in (None, {}):
        document = as_json(submit_bundle(extension(evidence), PROVIDER, "Acme", NOW))
        assert attendance_facts(document) == {}


def test_no_missed_session_and_no_units_leave_those_facts_out_but_say_zero_missed() -> None:
    evidence = summary(no_shows=(), late_cancels=(), excused=0, units_used=None, schedule=None)
    document = as_json(submit_bundle(extension(evidence), PROVIDER, "Acme", NOW))
    facts = attendance_facts(document)
    assert facts["sessions-missed"][0]["valueQuantity"]["value"] == 0
    assert not {"no-show", "late-cancel", "sessions-excused", "units-used"} & set(facts)


def x12_extension(evidence: dict[str, Any] | None) -> bytes:
    request = extension(evidence)
    payload = request.payload | {"setting": "community_mental_health_center"}
    built = request_278(request.model_copy(update={"payload": payload}), PARTIES, "Acme Medicaid")
    return build_278_request(built, envelope())


def test_the_278_extension_carries_the_evidence_in_the_first_service_msg_and_stays_valid():
    body = x12_extension(summary())

    assert check_278_request(body) == []
    found = segments(body)
    messages = [s for s in found if s[0] == "MSG"]
    # 2000E keeps the level of care; the first 2000F carries the attendance.
    assert len(messages) == 2 and messages[0][1].startswith("ASAM 2.1 requested")
    note = messages[1][1]
    assert note.startswith("Attendance 2026-11-23 to 2026-12-04, 7 days, 8 sessions, 21.50 h")
    assert "missed 3 (no-show 2026-11-25 2026-12-02, late cancel 2026-11-30)" in note
    assert "units used 7 of 20 days on AUTH-1" in note
    assert "below 9 h/wk in wk 2026-11-30 6.00 h" in note
    assert note.endswith("schedule 3 days a week, 3 hours a day") and len(note) <= MSG_LIMIT
    first_service = found.index(next(s for s in found if s[:4] == ["HL", "5", "4", "SS"]))
    second_service = next((i for i, s in enumerate(found) if s[:2] == ["HL", "6"]), len(found))
    assert first_service < found.index(messages[1]) < second_service
    assert parse_278_request(body).trace_number == "SD-ep-1-1"


def test_a_278_without_attendance_has_only_the_level_of_care_msg():
    body = x12_extension(None)
    assert check_278_request(body) == []
    assert len([s for s in segments(body) if s[0] == "MSG"]) == 1


def test_a_long_note_is_cut_to_the_msg_limit_and_the_278_stays_valid():
    weeks = tuple(
        WeekBelow(week=date(2026, 1, 5 + 7 * n), hours=Decimal("1.00"), minimum=9) for n in range(4)
    )
    many = summary(
        no_shows=tuple(date(2026, 11, d) for d in range(1, 29)),
        weeks_below=weeks,
    )
    note = x12_note(many)
    assert note is not None and len(note) == MSG_LIMIT and note.endswith("...")
    assert check_278_request(x12_extension(many)) == []
