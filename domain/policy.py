"""Payer policies: every deadline and window the rules use, with DOMAIN §3–§5 defaults per plan."""

from __future__ import annotations

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


class PayerPolicy(BaseModel):
    """What one payer promises and demands; the rules read windows from here, never literals."""

    model_config = ConfigDict(frozen=True)

    plan_type: PlanType
    requires_authorization: bool = True
    # §3: CMS-0057-F — 72 hours expedited, 7 calendar days standard.
    decision_hours_expedited: int = 72
    decision_days_standard: int = 7
    # §3: a deadline that passes is an escalation, then a second one later …
    second_escalation_hours: int = 48
    # … unless a missed deadline counts as a denial (Medicaid managed care, 42 CFR 438.404(c)(5)).
    missed_deadline_is_denial: bool = False
    # A4 pended: how long the provider has to answer the payer's request for information.
    info_response_days: int = 14
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


_OVERRIDES: dict[PlanType, dict[str, object]] = {
    "medicare_advantage": {},
    "medicaid_ffs": {},
    "medicaid_managed_care": {"missed_deadline_is_denial": True},
    "chip": {},
    # §3: ERISA — urgent 72 h, non-urgent pre-service 15 days; internal appeal within 180 days.
    "commercial": {
        "decision_days_standard": 15,
        "appeal_filing_days": 180,
        "extension_decision_hours": 24,
    },
    # Exchange QHP issuers are outside the CMS-0057-F timeframes; they follow the ERISA clock.
    "qhp_exchange": {"decision_days_standard": 15, "appeal_filing_days": 180},
    "self_pay": {"requires_authorization": False},
}


def default_policy(plan_type: PlanType) -> PayerPolicy:
    return PayerPolicy.model_validate({"plan_type": plan_type, **_OVERRIDES[plan_type]})
