"""The 837I a claims batch sends: built from claims the gate released, valid for pyx12's
005010X223A2 map, and carrying DOMAIN §6/§8's claim facts (TOB, cc 92, REF*G1, SV2 lines)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.claims import Released, gate
from domain.model import Address, Claim, Clinician
from domain.state import DischargeInfo
from payers.formats.x12_837i import (
    BilledClaim,
    ControlNumbers,
    Submitter,
    check_claim,
    patient_control_number,
    render_837i,
)
from tests.support.domain_factories import authorization, episode, opened_event, service
from tests.support.submitter import SUBMITTER
from tests.support.x12valid import x12_errors

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
CONTROL = ControlNumbers(interchange=42, group=42, transaction=42)


ADDRESS = Address(line="12 Elm St", line2="Apt 3", city="Springfield", state="IL",
                  zip="627041234")  # fmt: skip
ATTENDING = Clinician(npi="1234567893", last_name="Okafor", first_name="Ada")


def billed(state, claim: Claim, claim_id: str = "C-2026-11", **overrides: object) -> BilledClaim:
    opened = state.opened
    fields: dict[str, object] = {
        "episode_id": state.episode_id,
        "claim_id": claim_id,
        "claim": claim,
        "patient": opened.patient.model_copy(update={"address": ADDRESS}),
        "payer": opened.payer,
        "diagnoses": opened.diagnoses,
        "attending": ATTENDING,
    }
    return BilledClaim.model_validate(fields | overrides)


def released_claim(state, through: date = date(2026, 11, 30)) -> Claim:
    verdict = gate(state, through)
    assert isinstance(verdict, Released), verdict
    return verdict.claim


def segments(text: str, tag: str) -> list[list[str]]:
    found = [s.strip().split("*") for s in text.split("~")]
    return [s for s in found if s[0] == tag]


def hospital_state():
    opened = opened_event(
        setting="hospital_outpatient",
        department="non_excepted_off_campus",
        diagnoses=("F33.1", "F10.20", "F41.1"),
    )
    lines = [
        service(date=date(2026, 11, 24)),
        service(date=date(2026, 11, 25), code="S9480", modifiers=("GT",)),
    ]
    return episode(opened=opened, services=lines)


def test_a_batch_of_released_claims_is_a_valid_837i():
    first = hospital_state()
    cah = episode(opened=opened_event(setting="cah"), services=[service()])
    claims = [billed(first, released_claim(first)), billed(cah, released_claim(cah), "C-cah")]

    text = render_837i(claims, SUBMITTER, CONTROL, "CB0000042", AT)

    assert x12_errors(text) == []
    assert len(segments(text, "CLM")) == 2


def test_the_claim_carries_type_of_bill_condition_code_92_status_and_prior_authorization():
    state = hospital_state()
    text = render_837i([billed(state, released_claim(state))], SUBMITTER, CONTROL, "CB1", AT)

    [clm] = segments(text, "CLM")
    assert clm[5] == "13:A:2"  # TOB 0132: hospital outpatient, interim – first claim (§6)
    assert segments(text, "CL1") == [["CL1", "", "", "30"]]
    assert ["HI", "BG:92"] in segments(text, "HI")
    assert segments(text, "REF")[-1] == ["REF", "G1", "AUTH-1"]
    assert ["HI", "ABK:F331"] in segments(text, "HI")
    assert ["HI", "ABF:F1020", "ABF:F411"] in segments(text, "HI")


def test_each_line_has_revenue_code_hcpcs_with_modifiers_units_and_its_own_date():
    state = hospital_state()
    text = render_837i([billed(state, released_claim(state))], SUBMITTER, CONTROL, "CB1", AT)

    assert segments(text, "SV2") == [
        ["SV2", "0905", "HC:90853:PN", "80", "UN", "1"],
        ["SV2", "0905", "HC:S9480:GT:PN", "80", "UN", "1"],
    ]
    assert [d[3] for d in segments(text, "DTP") if d[1] == "472"] == ["20261124", "20261125"]
    assert x12_errors(text) == []


def test_a_cah_line_reports_the_revenue_code_without_hcpcs():
    state = episode(opened=opened_event(setting="cah"), services=[service()])
    text = render_837i([billed(state, released_claim(state))], SUBMITTER, CONTROL, "CB1", AT)

    assert segments(text, "SV2") == [["SV2", "0905", "", "80", "UN", "1"]]
    assert segments(text, "CLM")[0][5] == "85:A:2"
    assert x12_errors(text) == []


def test_the_final_claim_reports_the_discharge_status():
    discharge = DischargeInfo(date=date(2026, 11, 26), patient_status="01", disposition="completed")
    state = episode(services=[service()], discharge=discharge)
    text = render_837i([billed(state, released_claim(state))], SUBMITTER, CONTROL, "CB1", AT)

    assert segments(text, "CL1") == [["CL1", "", "", "01"]]
    assert segments(text, "CLM")[0][5] == "76:A:1"
    assert x12_errors(text) == []


def test_a_claim_over_two_authorizations_reports_the_one_most_lines_draw_on():
    first = authorization(number="AUTH-1", end=date(2026, 11, 24))
    second = authorization(number="AUTH-2", start=date(2026, 11, 25))
    days = [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)]
    state = episode(authorizations=(first, second), services=[service(date=d) for d in days])
    text = render_837i([billed(state, released_claim(state))], SUBMITTER, CONTROL, "CB1", AT)

    assert ["REF", "G1", "AUTH-2"] in segments(text, "REF")
    assert x12_errors(text) == []


def test_control_numbers_and_the_batch_id_are_in_the_envelope():
    state = hospital_state()
    control = ControlNumbers(interchange=123456789, group=77, transaction=9)
    text = render_837i([billed(state, released_claim(state))], SUBMITTER, control, "CB77", AT)

    [isa] = segments(text, "ISA")
    assert isa[13] == "123456789" and isa[15] == "T"
    assert segments(text, "GS")[0][6] == "77" and segments(text, "GE")[0][2] == "77"
    assert segments(text, "ST")[0][2] == "0009" == segments(text, "SE")[0][2]
    assert segments(text, "BHT")[0][3] == "CB77"
    assert segments(text, "IEA") == [["IEA", "1", "123456789"]]
    assert x12_errors(text) == []


def test_the_patient_control_number_is_short_stable_and_tells_episodes_apart():
    number = patient_control_number("ep-1", "C-2026-11")
    assert number == patient_control_number("ep-1", "C-2026-11")
    assert number != patient_control_number("ep-2", "C-2026-11")
    assert len(patient_control_number("e" * 80, "c" * 64)) <= 38


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        (lambda t: t.replace("CL1***30~\n", ""), "the required CL1 segment is missing"),
        (lambda t: t.replace("*UN*", "*XX*"), "SV204 is not a unit code"),
        (lambda t: t.replace("SE*", "SE*9"), "the SE segment count is wrong"),
        (lambda t: t.replace("HL*1**20*1~\n", ""), "the billing provider HL is missing"),
    ],
)
def test_the_validator_refuses_a_broken_837i(broken, why):
    state = hospital_state()
    text = render_837i([billed(state, released_claim(state))], SUBMITTER, CONTROL, "CB1", AT)

    assert x12_errors(broken(text)), why


def test_a_delimiter_inside_data_is_refused_rather_than_splitting_a_segment():
    state = episode(opened=opened_event(patient={
        "id": "P-1", "name": "Jane*Roe", "birth_date": date(1990, 4, 1), "member_id": "M1",
    }), services=[service()])  # fmt: skip
    with pytest.raises(ValueError, match="delimiter"):
        render_837i([billed(state, released_claim(state))], SUBMITTER, CONTROL, "CB1", AT)


def test_a_diagnosis_that_is_not_icd10_is_refused():
    state = episode(opened=opened_event(diagnoses=("not-a-code",)), services=[service()])
    with pytest.raises(ValueError, match="ICD-10"):
        render_837i([billed(state, released_claim(state))], SUBMITTER, CONTROL, "CB1", AT)


def test_an_empty_batch_is_refused():
    with pytest.raises(ValueError, match="at least one claim"):
        render_837i([], SUBMITTER, CONTROL, "CB1", AT)


def test_charges_add_up_on_the_claim():
    state = episode(services=[service(charge=Decimal("80.50")), service(charge=Decimal("19.50"))])
    text = render_837i([billed(state, released_claim(state))], SUBMITTER, CONTROL, "CB1", AT)
    assert segments(text, "CLM")[0][2] == "100"


def test_a_submitter_with_a_delimiter_in_its_name_is_refused_when_configured():
    with pytest.raises(ValueError, match="delimiter"):
        Submitter.model_validate(SUBMITTER.model_dump() | {"name": "Harbor*IOP"})


def test_the_subscriber_address_and_the_attending_clinician_are_sent():
    state = hospital_state()
    text = render_837i([billed(state, released_claim(state))], SUBMITTER, CONTROL, "CB1", AT)

    assert x12_errors(text) == []
    # 2010BA: after the subscriber's NM1*IL, before DMG (the billing provider's N3/N4 come first).
    names = [s[0] for s in (p.strip().split("*") for p in text.split("~"))]
    subscriber = names.index("NM1", names.index("SBR"))
    assert names[subscriber + 1 : subscriber + 4] == ["N3", "N4", "DMG"]
    assert segments(text, "N3")[-1] == ["N3", "12 Elm St", "Apt 3"]
    assert segments(text, "N4")[-1] == ["N4", "Springfield", "IL", "627041234"]
    # 2310A after the claim's HI segments and before the first service line.
    attending = [s for s in segments(text, "NM1") if s[1] == "71"]
    assert attending == [["NM1", "71", "1", "Okafor", "Ada", "", "", "", "XX", "1234567893"]]
    assert names.index("LX") > max(i for i, n in enumerate(names) if n == "HI")


def test_a_five_digit_zip_and_a_single_address_line_are_valid_too():
    state = hospital_state()
    patient = state.opened.patient.model_copy(
        update={"address": Address(line="1 Main", city="Salem", state="OR", zip="97301")}
    )
    text = render_837i([billed(state, released_claim(state), patient=patient)], SUBMITTER,
                       CONTROL, "CB1", AT)  # fmt: skip

    assert x12_errors(text) == []
    assert segments(text, "N4")[-1] == ["N4", "Salem", "OR", "97301"]


def test_without_the_patients_address_the_claim_is_refused_not_invented():
    state = hospital_state()
    claim = billed(state, released_claim(state), patient=state.opened.patient)

    with pytest.raises(ValueError, match=r"patient's address is missing.*2010BA N3/N4"):
        check_claim(claim)


def test_without_an_attending_clinician_the_claim_is_refused():
    state = hospital_state()
    claim = billed(state, released_claim(state), attending=None)

    with pytest.raises(ValueError, match=r"no attending clinician.*2310A"):
        check_claim(claim)


@pytest.mark.parametrize(
    "bad",
    [
        {"line": "", "city": "Salem", "state": "OR", "zip": "97301"},
        {"line": "1 Main", "city": "Salem", "state": "Oregon", "zip": "97301"},
        {"line": "1 Main", "city": "Salem", "state": "OR", "zip": "9730"},
        {"line": "1 Main", "city": "Salem", "state": "OR", "zip": "97301-1234"},
    ],
)
def test_a_malformed_address_is_refused_by_the_model(bad):
    with pytest.raises(ValueError):
        Address.model_validate(bad)


def test_a_delimiter_in_the_address_is_refused():
    state = hospital_state()
    patient = state.opened.patient.model_copy(
        update={"address": Address(line="1 Main*Rear", city="Salem", state="OR", zip="97301")}
    )
    with pytest.raises(ValueError, match="delimiter"):
        check_claim(billed(state, released_claim(state), patient=patient))
