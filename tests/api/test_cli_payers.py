"""`stepdown payers list|set|show` against the real API served over HTTP."""

from __future__ import annotations

import json

from tests.api.test_cli import cli, url
from tests.support.intake import new_id

__all__ = ["url"]


async def test_set_then_show_and_list_a_pas_payer(url: str) -> None:
    payer_id = new_id("payer")
    options = [
        *("--plan-type", "medicare_advantage", "--channel", "pas"),
        *("--pas-base-url", "https://payer.example/fhir"),
        *("--token-url", "https://payer.example/token", "--client-id", "stepdown"),
        *("--private-key", "file:/etc/stepdown/pas.pem", "--algorithm", "ES384"),
        *("--webhook-secret", "env:NEW_SECRET", "--webhook-secret", "env:OLD_SECRET"),
    ]

    created = await cli("payers", "set", payer_id, *options, token="t-admin", server=url)
    shown = await cli("payers", "show", payer_id, "--json", token="t-admin", server=url)
    listed = await cli("payers", "list", "--json", token="t-admin", server=url)

    assert created.exit_code == 0, created.output
    assert f"payer {payer_id} registered" in created.output
    entry = json.loads(shown.stdout)
    assert entry["pas"]["algorithm"] == "ES384"
    assert entry["webhook_secrets"] == ["env:NEW_SECRET", "env:OLD_SECRET"]
    assert listed.exit_code == 0
    assert payer_id in [payer["payer_id"] for payer in json.loads(listed.stdout)]


async def test_a_plain_secret_or_a_non_admin_token_is_refused_with_a_message(url: str) -> None:
    payer_id = new_id("payer")
    base = ["payers", "set", payer_id, "--plan-type", "commercial", "--channel", "webhook"]

    plain = await cli(*base, "--webhook-secret", "hunter2", token="t-admin", server=url)
    ops = await cli(*base, token="t-ops", server=url)
    missing = await cli("payers", "show", payer_id, token="t-admin", server=url)

    assert plain.exit_code == 1 and "never the secret itself" in plain.output
    assert ops.exit_code == 1 and "403" in ops.output
    assert missing.exit_code == 1 and "404" in missing.output
