"""The hold reasons a biller reads (domain/holds.py), as the gate writes them: the count and
its verb agree for one line and for several, each line or authorization the sentence lists
is named, and the sentence ends on the action to take. Key phrases only: the rest of each
sentence is free to change."""

from __future__ import annotations

from datetime import date

from domain.claims import Released, gate
from domain.holds import later_month_sent
from domain.model import Service
from tests.support.domain_factories import (
    authorization,
    claim_record,
    episode,
    opened_event,
    service,
)

THROUGH = date(2026, 12, 31)


def held(*lines: Service, **fields: object) -> dict[str, str]:
    """The detail of each reason holding the claim for `lines`, by reason code."""
    verdict = gate(episode(services=list(lines), **fields), THROUGH)
    assert not isinstance(verdict, Released), verdict
    return {r.code: r.detail for r in verdict.reasons}


def day(n: int) -> date:
    return date(2026, 11, n)


def test_lines_too_short_to_bill_are_listed_with_the_minimums() -> None:
    ok = service(service_id="S-ok")
    group = service(service_id="S-a", minutes=30)
    therapy = service(service_id="S-b", code="90832", minutes=10)

    def dropped(*lines: Service) -> str:
        verdict = gate(episode(services=[ok, *lines]), THROUGH)
        assert isinstance(verdict, Released), verdict
        [reason] = verdict.dropped
        return reason.detail

    one, two = dropped(group), dropped(group, therapy)

    assert one.startswith("1 line is too short to bill (S-a 90853 for 30 min): ")
    assert two.startswith("2 lines are too short to bill (S-a 90853 for 30 min, S-b 90832 for 10")
    assert "): untimed codes need 45 minutes and psychotherapy 16" in one
    assert one.endswith("; leave these sessions off the claim or correct the minutes")


def test_a_code_no_authorization_covers_is_named_with_the_way_to_get_it_covered() -> None:
    group = service(code="G0410", revenue_code="0915")
    day_program = service(code="H0015", revenue_code="0915", date=day(25))

    one = held(group)["code_not_authorized"]
    two = held(group, day_program)["code_not_authorized"]

    assert one.startswith("1 line bills G0410, which no authorization covers on 2026-11-24")
    assert two.startswith("2 lines bill G0410, H0015, which no authorization covers from")
    assert one.endswith(
        "; ask the payer to add the code to the authorization or correct the line's code"
    )


def test_lines_without_an_authorization_wait_for_the_payer() -> None:
    detail = held(service(), authorizations=())["no_authorization"]

    assert "; follow up on the authorization request" in detail
    assert detail.endswith("the claim is released by itself once the payer authorizes")


def test_lines_between_two_authorizations_name_every_authorization_s_dates() -> None:
    auths = (
        authorization(end=day(25)),
        authorization(number="AUTH-2", start=date(2026, 12, 1)),
    )
    covered, gap, gap_2 = service(), service(date=day(27)), service(date=day(28))

    one = held(covered, gap, authorizations=auths)["outside_authorization_dates"]
    two = held(covered, gap, gap_2, authorizations=auths)["outside_authorization_dates"]

    assert one.startswith(
        "1 line on 2026-11-27 falls outside every authorization "
        "(AUTH-1 2026-11-23 to 2026-11-25, AUTH-2 2026-12-01 to 2026-12-31)"
    )
    assert two.startswith("2 lines from 2026-11-27 to 2026-11-28 fall outside every authorization")
    assert one.endswith("; request authorization for those dates or correct them")


def test_to_a_medicare_payer_a_php_overlap_says_medicare_returns_the_claim() -> None:
    medicare = opened_event(
        php_last_claim_through=day(20), payer={"id": "acme-ma", "plan_type": "medicare_advantage"}
    )

    detail = held(service(), opened=medicare)["php_overlap_38363"]

    assert "; Medicare returns an IOP claim that overlaps PHP" in detail


def test_group_lines_without_a_signed_roster_ask_for_the_roster() -> None:
    unsigned = service(roster_signed=False)
    unsigned_2 = service(roster_signed=False, date=day(25))

    one = held(unsigned)["roster_unsigned"]
    two = held(unsigned, unsigned_2)["roster_unsigned"]

    assert one.startswith("1 line of group therapy (90853) on 2026-11-24 has no signed")
    assert two.startswith("2 lines of group therapy (90853) from 2026-11-24 to 2026-11-25 have no")
    assert "no signed attendance roster; get the roster signed" in one


def test_exhausted_units_name_every_authorization_covering_the_lines_by_code_or_revenue_code() -> (
    None
):
    """One authorization lists the line's HCPCS code, the other its revenue code: both are
    the lines' authorizations, and both are shown used up."""
    auths = (
        authorization(number="AUTH-C", units=1, service_codes=("90853",)),
        authorization(number="AUTH-R", units=1, service_codes=("0905",)),
    )
    lines = [service(date=day(n)) for n in (24, 25, 26, 27)]

    detail = held(*lines, authorizations=auths)["units_exhausted"]

    assert detail.startswith(
        "2 lines from 2026-11-26 to 2026-11-27 go beyond the approved units "
        "(AUTH-C: 1 of 1 days, AUTH-R: 1 of 1 days used"
    )


def test_units_beyond_the_minutes_list_each_line_with_what_the_payer_counts() -> None:
    over = service(service_id="S-a", code="H2019", units=4, minutes=50)
    over_2 = service(service_id="S-b", code="H2019", units=2, minutes=10)

    detail = held(over, over_2)["units_exceed_minutes"]

    assert "(S-a H2019 4 units for 50 min (payer counts 3), S-b H2019 2 units" in detail


def test_a_sent_claim_of_the_same_month_is_not_a_later_month() -> None:
    """A replacement's month already went out: that claim is not 'a later month' for it."""
    sent, late = service(service_id="S-1"), service(service_id="S-2", date=day(25))
    december = service(service_id="S-dec", date=date(2026, 12, 2))
    claims = [claim_record(claim_id="C-nov", service_ids=("S-1",))]

    assert later_month_sent(episode(services=[sent, late], claims=claims), [late]) is None
    dec_claim = claim_record(claim_id="C-dec", service_ids=("S-dec",), through=THROUGH)
    state = episode(services=[sent, late, december], claims=[*claims, dec_claim])
    assert later_month_sent(state, [late]) == (2026, 12)
