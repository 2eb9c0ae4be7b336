"""Payer policies: every deadline and window the rules use, with DOMAIN §3–§5 defaults per plan."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

PlanType = Literal[
    "medicare_advantage",
    "medicaid_ffs",
    "medicaid_managed_care",
    "chip",
    "commercial",
    "qhp_exchange",
    "self_pay",
]

PLAN_TYPES: tuple[PlanType, ...] = get_args(PlanType)


class DecisionWindow(BaseModel):
    """A decision window for requests made before `requested_before` (a rule's start date)."""

    model_config = ConfigDict(frozen=True)

    requested_before: date
    standard_days: int
    expedited_hours: int = 72


# §3 CMS-0057-F: standard decisions went from 14 to 7 calendar days for requests made on or
# after 2026-01-01 (Medicaid managed care: rating periods from that date — we key it on the
# request date too); expedited stays 72 hours.
CMS_0057_F_WINDOWS: tuple[DecisionWindow, ...] = (
    DecisionWindow(requested_before=date(2026, 1, 1), standard_days=14, expedited_hours=72),
)


class PayerPolicy(BaseModel):
    """What one payer promises and demands; the rules read windows from here, never literals."""

    model_config = ConfigDict(frozen=True)

    plan_type: PlanType
    requires_authorization: bool = True
    # §3: CMS-0057-F — 72 hours expedited, 7 calendar days standard.
    decision_hours_expedited: int = 72
    decision_days_standard: int = 7
    # Earlier windows by request date (a table, not code): a request made before a row's
    # date uses that row; on or after every row, the two fields above.
    decision_windows: tuple[DecisionWindow, ...] = ()
    # §3: the payer may extend a standard decision with notice (Medicare Advantage 14 days,
    # 42 CFR 422.568(b)(1)(i); ERISA pre-service 15 days); 0: no extension allowed.
    decision_extension_days: int = 0
    # §4: appeal decisions may be extended 14 days (Medicaid managed care, ERISA); 0: none.
    appeal_extension_days: int = 0
    # §3: a deadline that passes is an escalation, then a second one later …
    second_escalation_hours: int = 48
    # … unless a missed deadline counts as a denial (Medicaid managed care, 42 CFR 438.404(c)(5)).
    missed_deadline_is_denial: bool = False
    # A4 pended: how long the provider has to answer the payer's request for information.
    info_response_days: int = 14
    # §8: a request a Da Vinci PAS payer pended is followed up with `Claim/$inquire` this
    # often until a final answer or the decision deadline (no rule fixes the interval).
    inquiry_interval_minutes: int = 60
    # §4: P2P window after a denial (default 14 calendar days); held after two missed calls.
    p2p_window_days: int = 14
    p2p_max_missed_calls: int = 2
    # How long after a scheduled P2P call its outcome may be recorded before the call counts missed.
    p2p_outcome_grace_hours: int = 24
    # §4: Medicaid managed care must authorize within 72 hours of a reversal (42 CFR 438.424).
    reversal_authorization_hours: int = 72
    # §4: appeal filing window and decision times.
    appeal_filing_days: int = 60
    appeal_decision_days_standard: int = 30
    appeal_decision_hours_expedited: int = 72
    # §5: concurrent review 3 business days before the end or at 80 % of units,
    # never later than 24 hours before the end.
    review_business_days_before_end: int = 3
    review_units_fraction: float = 0.8
    review_min_hours_before_end: int = 24
    # §3: ERISA urgent concurrent-care extension asked ≥ 24 h before the end: decided in 24 h.
    extension_decision_hours: int | None = None
    # §6: IOP (cc 92) and PHP claims within seven days of each other are returned (38363).
    php_overlap_days: int = 7
    # The most units one payer decision may authorize. DOMAIN.md names no figure; a year of
    # IOP at its most intensive (about three units a day) stays under it, while a typo or a
    # hostile payload (units=10**9) is refused instead of becoming an authorization.
    max_authorized_units: int = 1000

    # §7: self-pay patients may be charged for a no-show or late cancellation; Medicaid
    # patients may not (the rules never charge a Medicaid plan, whatever this says).
    no_show_fee: Decimal | None = None
    # §7: repeated no-shows are a clinical flag: this many in this many days.
    no_show_review_count: int = 3
    no_show_review_days: int = 14


_CMS = {"decision_windows": CMS_0057_F_WINDOWS}
_OVERRIDES: dict[PlanType, dict[str, object]] = {
    "medicare_advantage": {**_CMS, "decision_extension_days": 14},
    "medicaid_ffs": {**_CMS},
    "medicaid_managed_care": {
        **_CMS,
        "missed_deadline_is_denial": True,
        "appeal_extension_days": 14,
    },
    "chip": {**_CMS},
    # §3: ERISA — urgent 72 h, non-urgent pre-service 15 days (+15 extension); internal
    # appeal within 180 days; appeal decisions extendable (issue 12: 14 days).
    "commercial": {
        "decision_days_standard": 15,
        "appeal_filing_days": 180,
        "extension_decision_hours": 24,
        "decision_extension_days": 15,
        "appeal_extension_days": 14,
    },
    # Exchange QHP issuers are outside the CMS-0057-F timeframes; they follow the ERISA clock.
    "qhp_exchange": {
        "decision_days_standard": 15,
        "appeal_filing_days": 180,
        "decision_extension_days": 15,
    },
    "self_pay": {"requires_authorization": False},
}


def default_policy(plan_type: PlanType) -> PayerPolicy:
    return PayerPolicy.model_validate({"plan_type": plan_type, **_OVERRIDES[plan_type]})
