"""How the workflow calls each activity: timeouts and retry policies, by activity name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

from activities.episode import PAYER_REJECTED

START_TO_CLOSE = timedelta(seconds=30)


def _retry(*, maximum_attempts: int = 0, non_retryable: tuple[str, ...] = ()) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=maximum_attempts,
        non_retryable_error_types=list(non_retryable),
    )


@dataclass(frozen=True)
class ActivityOptions:
    start_to_close_timeout: timedelta
    retry_policy: RetryPolicy
    # How long an effect may keep retrying before it is given up as failed (None: forever).
    schedule_to_close_timeout: timedelta | None = None

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `workflow.execute_activity_method`."""
        kwargs: dict[str, Any] = {
            "start_to_close_timeout": self.start_to_close_timeout,
            "retry_policy": self.retry_policy,
        }
        if self.schedule_to_close_timeout is not None:
            kwargs["schedule_to_close_timeout"] = self.schedule_to_close_timeout
        return kwargs


# Payer calls retry without limit: the gateway is idempotent and the episode's own
# deadlines escalate a payer that stays silent; only a request the payer calls invalid stops.
PAYER = ActivityOptions(START_TO_CLOSE, _retry(non_retryable=(PAYER_REJECTED,)))
# The read model and the outbox must catch up eventually; both are idempotent.
UNTIL_DONE = ActivityOptions(START_TO_CLOSE, _retry())
# A lost notification must not hold up the episode: the worklist shows the same facts.
BEST_EFFORT = ActivityOptions(START_TO_CLOSE, _retry(maximum_attempts=10))

OPTIONS: dict[str, ActivityOptions] = {
    "submit_authorization_request": PAYER,
    "submit_extension_request": PAYER,
    "request_peer_to_peer": PAYER,
    "inquire_payer": PAYER,
    "project_events": UNTIL_DONE,
    "deliver_claim": UNTIL_DONE,
    "notify_staff": BEST_EFFORT,
}


# Runs whose effects run beside the main loop (workflows/lanes.py). A payer submission that
# cannot be delivered within PAYER_GIVE_UP becomes a `submission_failed` event with a
# worklist item ops can retry; until then it retries with backoff capped at 5 minutes.
# Projections and the claims outbox are our own database: they retry until done.
PAYER_GIVE_UP = timedelta(hours=4)
CLAIM_REJECTED = "ClaimRejected"

# A payer call is tried again (1 s, doubling to 5 min) until it gives up; a refusal is final.
PAYER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=[PAYER_REJECTED],
)

LANE_OPTIONS: dict[str, ActivityOptions] = {
    "submit_authorization_request": ActivityOptions(START_TO_CLOSE, PAYER_RETRY, PAYER_GIVE_UP),
    "project_events": UNTIL_DONE,
    "deliver_claim": ActivityOptions(START_TO_CLOSE, _retry(non_retryable=(CLAIM_REJECTED,))),
    "notify_staff": BEST_EFFORT,
}
LANE_OPTIONS["submit_extension_request"] = LANE_OPTIONS["submit_authorization_request"]
# An inquiry that cannot get through in half an hour is given up (a `submission_failed` ops
# see); the next one on the episode's inquiry schedule is made all the same.
INQUIRY_GIVE_UP = timedelta(minutes=30)
LANE_OPTIONS["inquire_payer"] = ActivityOptions(START_TO_CLOSE, PAYER_RETRY, INQUIRY_GIVE_UP)
LANE_OPTIONS["request_peer_to_peer"] = LANE_OPTIONS["submit_authorization_request"]
