"""The sentence each hold reason shows the biller, in full (domain/holds.py): the count and
verb agree, the dates, codes and months are the lines' own, and the action is named. These
texts are what a biller acts on (README: "a reason a biller can act on"), so a change to one
is a change to the product, made here on purpose."""

from __future__ import annotations

from datetime import date

from domain.holds import _DETAILS
from domain.state import Episode
from tests.support.domain_factories import (
    authorization,
    claim_record,
    episode,
    opened_event,
    service,
)


def detail(code: str, state: Episode, lines: list, claim: list | None = None) -> str:
    return _DETAILS[code](state, lines, claim if claim is not None else lines)


ONE = [service(service_id="S-1", date=date(2026, 11, 24), code="90834", minutes=None)]
TWO = [*ONE, service(service_id="S-2", date=date(2026, 11, 26), code="90837", minutes=None)]


def test_missing_hcpcs_names_the_setting() -> None:
    state = episode()
    assert detail("missing_hcpcs", state, ONE) == (
        "1 line on 2026-11-24 has no HCPCS/CPT code, which a cmhc claim must report; add the code"
    )
    assert detail("missing_hcpcs", state, TWO).startswith(
        "2 lines from 2026-11-24 to 2026-11-26 have no HCPCS/CPT code"
    )


def test_missing_minutes_names_the_codes() -> None:
    state = episode()
    assert detail("missing_minutes", state, ONE) == (
        "1 line of psychotherapy (90834) on 2026-11-24 has no minutes; record the session "
        "length, which decides the code under CPT's time rule"
    )
    assert detail("missing_minutes", state, TWO).startswith(
        "2 lines of psychotherapy (90834, 90837) from 2026-11-24 to 2026-11-26 have no minutes"
    )


def test_units_off_shows_what_the_payer_counts() -> None:
    line = service(service_id="S-9", code="H0015", units=4, minutes=50)
    assert detail("units_exceed_minutes", episode(), [line]) == (
        "1 line reports units their minutes do not support (S-9 H0015 4 units for 50 min "
        "(payer counts 3)); 15-minute units follow the 8-minute rule — correct the units or "
        "the minutes"
    )
    no_minutes = service(service_id="S-8", code="H0015", units=2, minutes=None)
    both = detail("units_exceed_minutes", episode(), [line, no_minutes])
    assert both.startswith("2 lines report units their minutes do not support")
    assert "S-8 H0015 2 units for None min (payer counts 0)" in both


def test_a_repeated_per_day_code_names_each_line() -> None:
    twice = [service(service_id=f"S-{n}", code="S9480") for n in (1, 2)]
    assert detail("per_day_code_repeated", episode(), twice[:1]).startswith(
        "1 line bills a per-diem or per-session code more than once a date"
    )
    assert detail("per_day_code_repeated", episode(), twice) == (
        "2 lines bill a per-diem or per-session code more than once a date or with more than "
        "one unit (S-1 S9480 on 2026-11-24 (1 unit), S-2 S9480 on 2026-11-24 (1 unit)): an "
        "overbilling risk — void the duplicate or correct the units"
    )


def test_php_overlap_names_its_source_and_both_sides() -> None:
    from_claim = episode(opened=opened_event(php_last_claim_through=date(2026, 11, 20)))
    assert detail("php_overlap_38363", from_claim, ONE) == (
        "1 line on 2026-11-24 falls within 7 days of the last PHP date 2026-11-20 (PHP claim); "
        "the payer may return an IOP claim that overlaps PHP (reason 38363) — confirm the PHP "
        "claim's dates before billing these days"
    )
    from_auth = episode(
        opened=opened_event(
            php_last_claim_through=None,
            prior_authorization={"number": "PHP-1", "level": "2.5",
                                 "start": date(2026, 11, 2), "end": date(2026, 11, 19)},
        ),
        discharge={"date": date(2026, 11, 28), "patient_status": "01",
                   "disposition": "step_up", "to_level": "2.5"},
    )  # fmt: skip
    text = detail("php_overlap_38363", from_auth, TWO)
    assert text.startswith(
        "2 lines from 2026-11-24 to 2026-11-26 fall within 7 days of the last PHP date "
        "2026-11-19 (PHP authorization) and the step back up to PHP on 2026-11-28; "
    )


def test_a_later_month_sent_names_that_month() -> None:
    december = service(service_id="S-dec", date=date(2026, 12, 2))
    late = service(service_id="S-nov", date=date(2026, 11, 25))
    state = episode(
        services=[december, late],
        authorizations=(authorization(end=date(2027, 1, 31)),),
        claims=[claim_record(claim_id="C-dec", service_ids=("S-dec",))],
    )
    assert detail("later_month_sent", state, [late]) == (
        "the 2026-11 lines were recorded after the 2026-12 claim went out; claims go in month "
        "order, so this month cannot join the sequence by itself — void the lines or ask the "
        "payer how to bill the late charges"
    )


def test_a_wrong_time_code_names_the_code_the_minutes_call_for() -> None:
    one = [service(service_id="S-1", code="90837", minutes=40)]
    two = [*one, service(service_id="S-2", code="90832", minutes=55)]
    assert detail("time_code_mismatch", episode(), one) == (
        "1 line bills the wrong psychotherapy time code (S-1 billed 90837 for 40 min, which "
        "calls for 90834); correct it"
    )
    assert detail("time_code_mismatch", episode(), two).startswith(
        "2 lines bill the wrong psychotherapy time code (S-1 billed 90837 for 40 min, which "
        "calls for 90834, S-2 billed 90832 for 55 min, which calls for 90837)"
    )


def test_exhausted_units_show_each_covering_authorization_s_use() -> None:
    auths = (
        authorization(units=2, end=date(2026, 11, 25)),
        authorization(number="AUTH-2", units=3, start=date(2026, 11, 26)),
    )
    lines = [service(service_id="S-3", date=date(2026, 11, 24))]
    state = episode(authorizations=auths)
    assert detail("units_exhausted", state, lines, []) == (
        "1 line on 2026-11-24 goes beyond the approved units (AUTH-1: 0 of 2 days used with "
        "this claim's other lines); request more units in a concurrent review"
    )
