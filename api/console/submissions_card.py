"""The episode page's payer submissions (ops): what went to the payer, how, and its answer."""

from __future__ import annotations

from api.console.templates import ENV
from store.submissions import Submission

STATUS_STYLE = {"answered": "ok", "accepted": "ok", "failed": "bad", "sending": "warn"}


def submissions_card(submissions: list[Submission]) -> str:
    """What went to the payer, how, and its answer (templates/episode_cards.html)."""
    cards = ENV.get_template("episode_cards.html").module
    return str(cards.submissions(submissions, STATUS_STYLE))
