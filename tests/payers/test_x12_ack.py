"""999 and TA1 acknowledgements: parsed from clearinghouse text into one typed verdict."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from payers.formats.errors import UnparseableDecision
from payers.formats.x12_ack import (
    AckError,
    Acknowledgement,
    TransactionAck,
    build_999,
    build_ta1,
    is_acknowledgement,
    parse_acknowledgement,
)
from payers.formats.x12_write import Envelope

AT = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
ENVELOPE = Envelope("CLEARINGHOUSE", "STEPDOWN", 5001, AT, "FA", "005010X231A1")

# A 999 as a clearinghouse writes it (TR3 X231A1 layout), rejecting the 278 of group 42.
ISA = b"ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*STEPDOWN       *"
REJECTION_999 = (
    ISA
    + b"""261123*1500*^*00501*000005001*0*P*:~
GS*FA*CLEARINGHOUSE*STEPDOWN*20261123*1500*5001*X*005010X231A1~
ST*999*0001*005010X231A1~
AK1*HI*42*005010X217~
AK2*278*0001*005010X217~
IK3*UM*12*2000E*8~
IK4*2**7*X~
IK3*NM1*8*2010C*3~
IK5*R*5~
AK9*R*1*1*0~
SE*10*0001~
GE*1*5001~
IEA*1*000005001~
"""
)


def test_a_999_rejection_names_the_group_and_every_error():
    ack = parse_acknowledgement(REJECTION_999)

    assert (ack.kind, ack.control_number, ack.functional_id, ack.code) == ("999", 42, "HI", "R")
    assert not ack.accepted
    [verdict] = ack.transactions
    assert (verdict.control_number, verdict.code) == ("0001", "R")
    assert [(e.segment_id, e.code, e.element) for e in verdict.errors] == [
        ("UM", "8", None),
        ("UM", "7", 2),
        ("NM1", "3", None),
        (None, "5", None),
    ]
    assert ack.reason().startswith("999 rejected: segment has data element errors (8)")
    assert "invalid code value (7) segment UM element 2" in ack.reason()


def test_an_accepted_999_and_one_accepted_with_errors_both_count_as_accepted():
    for code in ("A", "E"):
        verdict = TransactionAck(transaction_set="278", control_number="0001", code=code)
        answered = Acknowledgement(
            kind="999", control_number=42, functional_id="HI", code=code, transactions=(verdict,)
        )
        ack = parse_acknowledgement(build_999(ENVELOPE, answered, ("278", "005010X217")))

        assert ack.accepted and ack.code == code and ack.control_number == 42


def test_a_999_we_build_reads_back_the_same():
    error = AckError(code="7", description="invalid code value", segment_id="UM", position=12,
                     loop="2000E", element=2)  # fmt: skip
    verdict = TransactionAck(
        transaction_set="278", control_number="0001", code="R", errors=(error,)
    )
    answered = Acknowledgement(
        kind="999", control_number=42, functional_id="HI", code="R", transactions=(verdict,)
    )

    ack = parse_acknowledgement(build_999(ENVELOPE, answered, ("278", "005010X217")))

    assert ack.code == "R" and ack.transactions[0].errors[-1].element == 2
    assert ack.transactions[0].errors[0].loop == "2000E"


def test_a_ta1_names_the_interchange_and_its_note():
    ack = parse_acknowledgement(build_ta1(ENVELOPE, 42, "R", "025"))

    assert (ack.kind, ack.control_number, ack.code, ack.accepted) == ("TA1", 42, "R", False)
    assert ack.errors[0].description == "duplicate interchange control number"
    assert parse_acknowledgement(build_ta1(ENVELOPE, 43, "A")).accepted


def test_only_999s_and_ta1s_are_acknowledgements():
    assert is_acknowledgement(REJECTION_999)
    assert is_acknowledgement(build_ta1(ENVELOPE, 1, "A"))
    fixture = "tests/payers/fixtures/x12_approve.edi"
    with open(fixture, "rb") as handle:
        assert not is_acknowledgement(handle.read())
    assert not is_acknowledgement(b"not x12 at all")


@pytest.mark.parametrize(
    "body, message",
    [
        (REJECTION_999.replace(b"AK9*R*1*1*0~\n", b""), "AK9"),
        (REJECTION_999.replace(b"AK1*HI*42*", b"AK1*HI*4X*"), "AK102"),
        (build_ta1(ENVELOPE, 42, "A").replace(b"*A*000", b"*Q*000"), "TA104"),
        (b"ISA*00*x~", "ISA"),
    ],
)
def test_a_broken_acknowledgement_is_unparseable_with_a_reason(body: bytes, message: str):
    with pytest.raises(UnparseableDecision, match=message):
        parse_acknowledgement(body)
