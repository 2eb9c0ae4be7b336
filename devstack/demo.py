"""Demo episodes for the dev stack: bodies of `POST /episodes` across plan types and payers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from devstack.pas_keys import DEV_PAS_CLIENT


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
    # Days between the end of the PHP stay and the first IOP day. 1: the usual step-down the
    # day after; more than a week keeps today's IOP claim clear of the PHP overlap rule
    # (DOMAIN §6, 38363), so the demo can bill it.
    php_gap_days: int = 1
    # Billed by the seed once approved: today's group session on a released claim, which the
    # worker's scheduled batch cut writes as an 837I.
    billed: bool = False


# sim- payers are answered by the simulator; the last one waits for a real webhook.
DEMO_EPISODES: tuple[DemoEpisode, ...] = (
    DemoEpisode("demo-0001", "sim-acme-medicaid", "medicaid_managed_care", "Jane Roe"),
    DemoEpisode("demo-0002", "sim-bluepeak-ma", "medicare_advantage", "John Doe", "3.5"),
    # The simulator approves it through the signed webhook; its PHP stay ended ten days ago.
    DemoEpisode(
        "demo-0003",
        "sim-northstar",
        "commercial",
        "Ana Silva",
        setting="freestanding",
        php_gap_days=10,
        billed=True,
    ),
    DemoEpisode("demo-0004", "sim-state-medicaid", "medicaid_ffs", "Li Wei", urgency="expedited"),
    DemoEpisode("demo-0005", "sim-exchange-gold", "qhp_exchange", "Sam Okafor", "3.7"),
    DemoEpisode("demo-0006", "sim-kidcare", "chip", "Maya Cohen", units=12),
    DemoEpisode("demo-0007", "acme-commercial", "commercial", "Omar Haddad"),
    # Da Vinci PAS: the simulator answers $submit at once (token exchange first).
    DemoEpisode("demo-0008", "sim-pas-medicaid", "medicaid_managed_care", "Rosa Diaz"),
)
PAS_DEMO_PAYERS = ("sim-pas-medicaid",)
BILLED_DEMOS = tuple(d for d in DEMO_EPISODES if d.billed)


def episode_body(demo: DemoEpisode, today: date) -> dict[str, Any]:
    """A valid intake: the prior level ended `php_gap_days` ago, IOP starts today."""
    first, last = demo.patient.split(" ", 1)
    ended = (today - timedelta(days=demo.php_gap_days)).isoformat()
    number = demo.episode_id.rsplit("-", 1)[-1]
    return {
        "episode_id": demo.episode_id,
        "patient": {
            "id": f"P-{number}",
            "name": f"{first} {last}",
            "birth_date": "1990-04-01",
            "member_id": f"M{number}{len(last):02d}",
            # Demo data: the 837I sends the patient's address (2010BA N3/N4).
            "address": {
                "line": "100 Demo Street",
                "city": "Springfield",
                "state": "IL",
                "zip": "62704",
            },
        },
        # The attending clinician (837I 2310A); the demo NPI passes its check digit.
        "attending": {"npi": "1234567893", "last_name": "Demo", "first_name": "Dana"},
        "payer": {"id": demo.payer_id, "plan_type": demo.plan_type},
        "asam_edition": 3,
        "from_level": demo.from_level,
        "to_level": "2.1",
        "dimensions": {"1": 0, "2": 1, "3": 2, "4": 2, "5": 3, "6": 2},
        "setting": demo.setting,
        "prior_authorization": {
            "number": f"PRIOR-{number}",
            "level": demo.from_level,
            "start": (today - timedelta(days=20 + demo.php_gap_days)).isoformat(),
            "end": ended,
        },
        "requested": {
            "start": today.isoformat(),
            "units": demo.units,
            "unit_type": "days",
            "service_codes": ["S9480", "90853", "0905"],
        },
        "urgency": demo.urgency,
        "diagnoses": ["F33.1"],
        "php_last_claim_through": ended,
    }


def demo_service(demo: DemoEpisode, today: date) -> dict[str, Any]:
    """Today's IOP group session (90853, revenue 0905) of a billed demo episode."""
    return {
        "service_id": f"{demo.episode_id}-{today:%Y%m%d}-S1",
        "date": today.isoformat(),
        "code": "90853",
        "revenue_code": "0905",
        "minutes": 60,
        "units": 1,
        "modifiers": [],
        "rendering_npi": "1234567893",
        "roster_signed": True,
        "charge": "80.00",
    }


def demo_claim(demo: DemoEpisode, today: date) -> dict[str, Any]:
    return {"claim_id": f"{demo.episode_id}-{today:%Y%m%d}", "through": today.isoformat()}


def demo_payers(simulator_url: str, private_key: str) -> dict[str, dict[str, Any]]:
    """`PUT /payers/{id}` bodies of the demo's payers.

    The PAS payer reaches the simulator's FHIR endpoint with the dev client key
    (`private_key`, an `env:`/`file:` reference); the other `sim-` payers are webhook-only
    and the simulator answers them through the signed webhook; the rest wait for a real
    webhook, as in production. All sign webhooks with the dev secret.
    """
    bodies: dict[str, dict[str, Any]] = {}
    for demo in DEMO_EPISODES:
        body: dict[str, Any] = {"plan_type": demo.plan_type, "channel": "webhook"}
        if demo.payer_id in PAS_DEMO_PAYERS:
            body["channel"] = "pas"
            body["display_name"] = "Simulated Medicaid MCO (Da Vinci PAS)"
            body["pas"] = {
                "base_url": f"{simulator_url}/fhir",
                "token_url": f"{simulator_url}/fhir/auth/token",
                "client_id": DEV_PAS_CLIENT,
                "private_key": private_key,
                "algorithm": "ES384",
            }
        bodies[demo.payer_id] = body
    return bodies
