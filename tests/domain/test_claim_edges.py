"""Edges of the claim gate the broader claim tests let slip (each was a surviving mutant of
domain/claims.py, docs/testing.md): a released claim whose services were all voided, the
status a replacement carries, which live claim a month has, what a held claim leaves out of
its own checks, and what a held replacement keeps."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.claims import Held, Released, gate, held_claim_event, month_claim, regate
from domain.claims import released_claim_event as released_events
from domain.evolve import fold
from domain.holds import hold_reasons
from domain.model import Service
from domain.state import DischargeInfo, Episode
from tests.support.domain_factories import claim_record, episode, service

NOV_30, DEC_31 = date(2026, 11, 30), date(2026, 12, 31)
NOW = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)


def released(state: Episode, through: date = NOV_30) -> Released:
    verdict = gate(state, through)
    assert isinstance(verdict, Released), verdict
    return verdict


def send(state: Episode, claim_id: str, through: date = NOV_30) -> Episode:
    return fold(released_events(released(state, through), claim_id, NOW), state)


def with_services(state: Episode, *more: Service) -> Episode:
    return state.model_copy(
        update={"services": {**state.services, **{s.service_id: s for s in more}}}
    )


# ---- the frequency digit and the patient status --------------------------------------------


def test_a_sent_claim_whose_services_were_all_voided_is_placed_by_its_through_date() -> None:
    """Its month is its through date's: a November claim makes December continuing (3); a
    claim through a December day is no earlier month, so December is still the first (2)."""
    dec = service(service_id="S-dec", date=date(2026, 12, 2))
    voided = {"S-gone": "entered twice"}

    def december_after(through: date) -> str:
        gone = claim_record(claim_id="C-gone", service_ids=("S-gone",), through=through)
        state = episode(services=[dec], claims=[gone], voided_services=voided)
        return released(state, DEC_31).claim.type_of_bill

    assert december_after(NOV_30) == "0763"
    assert december_after(date(2026, 12, 1)) == "0762"


def test_replacing_the_final_claim_keeps_the_discharge_status() -> None:
    discharge = DischargeInfo(date=date(2026, 11, 28), patient_status="01", disposition="completed")
    state = episode(services=[service(service_id="S-1")], discharge=discharge)
    state = send(state, "C-final")
    assert state.claims["C-final"].claim.patient_status == "01"  # type: ignore[union-attr]

    late = service(service_id="S-2", date=date(2026, 11, 26))
    claim = released(with_services(state, late)).claim

    assert claim.type_of_bill == "0767" and claim.replaces == "C-final"
    assert claim.patient_status == "01"


def test_replacing_an_interim_claim_after_discharge_keeps_the_patient_still_a_patient() -> None:
    """November went out before the discharge, December last: a late November line replaces
    the November claim, which stays interim (status 30) — the December claim is the last."""
    nov, dec = service(service_id="S-nov"), service(service_id="S-dec", date=date(2026, 12, 2))
    state = send(episode(services=[nov, dec]), "C-nov")
    discharge = DischargeInfo(date=date(2026, 12, 3), patient_status="01", disposition="completed")
    state = send(state.model_copy(update={"discharge": discharge}), "C-dec", DEC_31)
    assert state.claims["C-dec"].claim.type_of_bill == "0764"  # type: ignore[union-attr]

    late = service(service_id="S-nov-2", date=date(2026, 11, 26))
    claim = released(with_services(state, late), DEC_31).claim

    assert claim.type_of_bill == "0767" and claim.replaces == "C-nov"
    assert claim.patient_status == "30"


def test_a_late_month_s_claim_warns_it_is_out_of_order_beside_its_other_warnings() -> None:
    state = send(
        episode(services=[service(service_id="S-dec", date=date(2026, 12, 2))]), "C-dec", DEC_31
    )
    stray = service(service_id="S-nov", revenue_code="0914")  # 90853 is not billed on 0914

    claim = released(with_services(state, stray), DEC_31).claim

    [pair, order] = claim.warnings
    assert pair.startswith("S-nov: revenue code 0914")
    assert order.startswith("the 2026-11 lines were recorded after the 2026-12 claim went out")
    assert "; Medicare edits interim sequences" in order
    assert order.endswith("cancel and rebill the later months in order")


def test_a_replacement_of_a_month_sent_before_a_later_one_is_not_out_of_order() -> None:
    """It takes the place of its month's claim in the sequence: no out-of-order warning."""
    nov, dec = service(service_id="S-nov"), service(service_id="S-dec", date=date(2026, 12, 2))
    state = send(send(episode(services=[nov, dec]), "C-nov"), "C-dec", DEC_31)
    late = service(service_id="S-nov-2", date=date(2026, 11, 26))

    claim = released(with_services(state, late), DEC_31).claim

    assert claim.type_of_bill == "0767" and claim.warnings == ()


def test_under_rules_2_late_lines_of_a_sent_month_replace_it_though_a_later_month_went_out() -> (
    None
):
    """Rules 2 held a month's lines once a later month was out — but not a replacement, which
    takes its month's place in the sequence instead of joining it."""
    nov, dec = service(service_id="S-nov"), service(service_id="S-dec", date=date(2026, 12, 2))
    state = send(episode(services=[nov, dec], rules=2), "C-nov")
    state = send(state, "C-dec", DEC_31)
    late = service(service_id="S-nov-2", date=date(2026, 11, 26))

    verdict = released(with_services(state, late), DEC_31)

    assert verdict.replaces == "C-nov" and verdict.service_ids == ("S-nov", "S-nov-2")


def test_an_episode_under_rules_2_holds_a_per_diem_code_repeated_on_a_date() -> None:
    """The per-day duplicate hold came with rules 2 (issue 12), so a rules-2 episode has it."""
    twice = [service(code="S9480") for _ in range(2)]

    verdict = gate(episode(services=twice, rules=2), NOV_30)

    assert isinstance(verdict, Held)
    assert [r.code for r in verdict.reasons] == ["per_day_code_repeated"]


def test_hold_reasons_hold_a_late_month_under_rules_2_unless_it_replaces_its_claim() -> None:
    dec, nov = service(service_id="S-dec", date=date(2026, 12, 2)), service(service_id="S-nov")
    sent = claim_record(claim_id="C-dec", service_ids=("S-dec",), through=DEC_31)
    state = episode(services=[dec, nov], claims=[sent], rules=2)

    assert [r.code for r in hold_reasons(state, [nov])] == ["later_month_sent"]
    assert hold_reasons(state, [nov], replacing=True) == ()


# ---- which claim a month has -----------------------------------------------------------------


def test_a_month_has_its_held_claim_before_its_sent_one_and_never_a_superseded_one() -> None:
    one, two = service(service_id="S-1"), service(service_id="S-2", date=date(2026, 11, 25))
    old = claim_record(claim_id="C-old", status="superseded", service_ids=("S-1",))
    sent = claim_record(claim_id="C-sent", service_ids=("S-1",))
    held = claim_record(claim_id="C-held", status="held", service_ids=("S-2",), replaces="C-sent")

    assert month_claim(episode(services=[one, two], claims=[old, sent, held]), (2026, 11)) == held
    assert month_claim(episode(services=[one, two], claims=[old, sent]), (2026, 11)) == sent
    assert month_claim(episode(services=[one, two], claims=[old]), (2026, 11)) is None


# ---- what a held claim leaves out of its own checks -----------------------------------------


def test_a_held_claim_does_not_wait_for_its_own_line_corrected_into_an_earlier_month() -> None:
    """A December claim's line corrected to 30 November and to 5 minutes is left off; the
    claim does not then wait for November as if another claim held it."""
    moved = service(service_id="S-moved", date=NOV_30, code="90832", minutes=5)
    dec = service(service_id="S-dec", date=date(2026, 12, 2))
    held = claim_record(
        claim_id="C-dec", status="held", through=DEC_31, service_ids=("S-moved", "S-dec")
    )

    verdict = regate(episode(services=[moved, dec], claims=[held]), held)

    assert isinstance(verdict, Released), verdict
    assert verdict.service_ids == ("S-dec",)
    assert [(d.code, d.lines) for d in verdict.dropped] == [("below_minimum_minutes", ("S-moved",))]


def test_a_held_claim_waits_for_an_earlier_month_recorded_after_it() -> None:
    dec, nov = service(service_id="S-dec", date=date(2026, 12, 2)), service(service_id="S-nov")
    held = claim_record(claim_id="C-dec", status="held", through=DEC_31, service_ids=("S-dec",))

    verdict = regate(episode(services=[dec, nov], claims=[held]), held)

    assert isinstance(verdict, Held)
    [waits] = verdict.reasons
    assert waits.code == "earlier_month_unreleased" and waits.lines == ("S-dec",)
    assert waits.detail.startswith("the 2026-12 claim waits for the 2026-11 claim")
    assert "released first: claims go one per calendar month in month order" in waits.detail
    assert waits.detail.endswith("it goes by itself once that month is released")


def test_an_earlier_line_that_can_never_bill_does_not_hold_a_later_month() -> None:
    short = service(service_id="S-short", code="90832", minutes=5)
    dec = service(service_id="S-dec", date=date(2026, 12, 2))

    assert released(episode(services=[short, dec]), DEC_31).service_ids == ("S-dec",)


# ---- a held replacement -----------------------------------------------------------------------


def _held_replacement(*more: Service) -> Episode:
    """November went out (S-1); a later line S-2 is held (unsigned roster) to replace it."""
    sent = claim_record(claim_id="C-sent", service_ids=("S-1",))
    held = claim_record(claim_id="C-held", status="held", service_ids=("S-2",), replaces="C-sent")
    unsigned = service(service_id="S-2", date=date(2026, 11, 25), roster_signed=False)
    return episode(services=[service(service_id="S-1"), unsigned, *more], claims=[sent, held])


def test_new_lines_joining_a_held_replacement_keep_the_claim_it_replaces() -> None:
    state = _held_replacement(service(service_id="S-3", date=date(2026, 11, 26)))

    verdict = gate(state, NOV_30)

    assert isinstance(verdict, Held)
    assert (verdict.supersedes, verdict.replaces) == ("C-held", "C-sent")
    assert verdict.service_ids == ("S-2", "S-3")
    [_, held] = held_claim_event(verdict, "C-new", NOV_30, NOW)
    assert held.replaces == "C-sent"  # type: ignore[union-attr]


def test_a_held_replacement_left_with_no_billable_line_is_withdrawn_alone() -> None:
    """Its line corrected to 5 minutes: the held claim goes; the sent claim stays as sent."""
    short = service(service_id="S-2", date=date(2026, 11, 25), code="90832", minutes=5)
    state = _held_replacement()
    state = with_services(state, short)

    verdict = regate(state, state.claims["C-held"])

    assert isinstance(verdict, Held) and verdict.service_ids == ()
    assert (verdict.supersedes, verdict.replaces) == (None, "C-sent")
    events = held_claim_event(verdict, "C-held", NOV_30, NOW)
    assert [(e.claim_id, getattr(e, "by", None)) for e in events] == [("C-held", "")]
    assert fold(events, state).claims["C-sent"].status == "released"


def test_new_lines_releasing_a_held_replacement_supersede_it() -> None:
    """The hold on S-2 cleared without a regate (as when the held claim of an earlier month it
    waited for is withdrawn by a void); new lines then release the month's replacement."""
    signed = service(service_id="S-2", date=date(2026, 11, 25))
    state = with_services(_held_replacement(service(service_id="S-3", date=date(2026, 11, 26))))
    state = with_services(state, signed)

    verdict = released(state)
    after = fold(released_events(verdict, "C-new", NOW), state)

    assert verdict.replaces == "C-sent" and verdict.service_ids == ("S-1", "S-2", "S-3")
    assert after.claims["C-held"].status == "superseded"


def test_under_rules_3_the_held_replacement_stays_held_as_it_was_recorded() -> None:
    """Replay is a contract: runs recorded under rules 3 keep the held claim (and the regate
    that billed its lines again); rules 4 supersedes it (the test above)."""
    signed = service(service_id="S-2", date=date(2026, 11, 25))
    state = with_services(_held_replacement(service(service_id="S-3", date=date(2026, 11, 26))))
    state = with_services(state, signed).model_copy(update={"rules": 3})

    verdict = released(state)
    after = fold(released_events(verdict, "C-new", NOW), state)

    assert verdict.replaces == "C-sent" and verdict.supersedes is None
    assert after.claims["C-held"].status == "held"
