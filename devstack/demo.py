"""Demo episodes for the dev stack: bodies of `POST /episodes` across plan types and payers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any


@dataclass(frozen=True)
class DemoEpisode:
    episode_id: str
    payer_id: str
    plan_type: str
    patient: str
    from_level: str = "2.5"
    setting: str = "cmhc"
    urgency: str = "standard"
    units: int = 20


# sim- payers are answered by the simulator; the last one waits for a real webhook.
DEMO_EPISODES: tuple[DemoEpisode, ...] = (
    DemoEpisode("demo-0001", "sim-acme-medicaid", "medicaid_managed_care", "Jane Roe"),
    DemoEpisode("demo-0002", "sim-bluepeak-ma", "medicare_advantage", "John Doe", "3.5"),
    DemoEpisode("demo-0003", "sim-northstar", "commercial", "Ana Silva", setting="freestanding"),
    DemoEpisode("demo-0004", "sim-state-medicaid", "medicaid_ffs", "Li Wei", urgency="expedited"),
    DemoEpisode("demo-0005", "sim-exchange-gold", "qhp_exchange", "Sam Okafor", "3.7"),
    DemoEpisode("demo-0006", "sim-kidcare", "chip", "Maya Cohen", units=12),
    DemoEpisode("demo-0007", "acme-commercial", "commercial", "Omar Haddad"),
)


def episode_body(demo: DemoEpisode, today: date) -> dict[str, Any]:
    """A valid intake: the prior level ended yesterday, IOP starts today."""
    first, last = demo.patient.split(" ", 1)
    number = demo.episode_id.rsplit("-", 1)[-1]
    return {
        "episode_id": demo.episode_id,
        "patient": {
            "id": f"P-{number}",
            "name": f"{first} {last}",
            "birth_date": "1990-04-01",
            "member_id": f"M{number}{len(last):02d}",
        },
        "payer": {"id": demo.payer_id, "plan_type": demo.plan_type},
        "asam_edition": 3,
        "from_level": demo.from_level,
        "to_level": "2.1",
        "dimensions": {"1": 0, "2": 1, "3": 2, "4": 2, "5": 3, "6": 2},
        "setting": demo.setting,
        "prior_authorization": {
            "number": f"PRIOR-{number}",
            "level": demo.from_level,
            "start": (today - timedelta(days=21)).isoformat(),
            "end": (today - timedelta(days=1)).isoformat(),
        },
        "requested": {
            "start": today.isoformat(),
            "units": demo.units,
            "unit_type": "days",
            "service_codes": ["S9480", "90853", "0905"],
        },
        "urgency": demo.urgency,
        "diagnoses": ["F33.1"],
        "php_last_claim_through": (today - timedelta(days=1)).isoformat(),
    }


def demo_payers() -> dict[str, dict[str, Any]]:
    """`PUT /payers/{id}` bodies of the demo's payers: webhook-only, signed with the dev secret.

    The simulator answers the `sim-` payers through the signed webhook; the others wait for
    a real webhook, as in production.
    """
    return {
        demo.payer_id: {"plan_type": demo.plan_type, "channel": "webhook"} for demo in DEMO_EPISODES
    }
