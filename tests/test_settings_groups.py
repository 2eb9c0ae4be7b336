"""The dev stack's and the simulator's settings are grouped apart from production ones, yet
every one of them is still set by the environment variable the README documents."""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from settings import GROUPS, Settings, env_names, get_settings

# env name, its text in the environment, where it lands, the value it lands as.
MOVED = [
    ("STEPDOWN_TEMPORAL_DB", "/srv/t.db", "devstack.temporal_db_path", Path("/srv/t.db")),
    ("STEPDOWN_TEMPORAL_UI_PORT", "9233", "devstack.temporal_ui_port", 9233),
    ("STEPDOWN_DEV_SMTP_PORT", "9025", "devstack.smtp_port", 9025),
    ("STEPDOWN_DEV_MAIL_PORT", "9026", "devstack.mail_port", 9026),
    ("STEPDOWN_SIM_HOST", "0.0.0.0", "simulator.host", "0.0.0.0"),
    ("STEPDOWN_SIM_PORT", "9100", "simulator.port", 9100),
    ("STEPDOWN_SIM_URL", "http://sim.test", "simulator.url", "http://sim.test"),
    ("STEPDOWN_SIM_MIX", '{"A1": 1}', "simulator.mix", {"A1": 1.0}),
    ("STEPDOWN_SIM_FORMATS", '{"x12": 2}', "simulator.formats", {"x12": 2.0}),
    ("STEPDOWN_SIM_DELAY", "0.5", "simulator.delay_seconds", 0.5),
    ("STEPDOWN_SIM_SEED", "7", "simulator.seed", 7),
    ("STEPDOWN_SIM_PAS_CLIENTS", '{"c1": "env:K"}', "simulator.pas_clients", {"c1": "env:K"}),
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in env_names():
        monkeypatch.delenv(name, raising=False)


def read(settings: Settings, path: str) -> Any:
    return operator.attrgetter(path)(settings)


def test_the_table_covers_every_member_of_every_group():
    members = {m.alias for group in GROUPS.values() for m in group.model_fields.values()}
    assert members == {name for name, *_ in MOVED}
    assert members <= env_names()
    assert not members & {f.alias for f in Settings.model_fields.values()}


@pytest.mark.parametrize(("name", "text", "path", "value"), MOVED)
def test_each_grouped_setting_is_set_by_its_documented_env_name(
    monkeypatch: pytest.MonkeyPatch, name: str, text: str, path: str, value: Any
):
    assert read(Settings(), path) != value
    monkeypatch.setenv(name, text)
    assert read(Settings(), path) == value


@pytest.mark.parametrize(("name", "text", "path", "value"), MOVED)
def test_each_grouped_setting_is_set_by_its_env_name_as_a_keyword(
    name: str, text: str, path: str, value: Any
):
    assert read(Settings(**{name: value}), path) == value


def test_a_keyword_wins_over_the_environment_and_leaves_the_rest_of_the_group(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("STEPDOWN_SIM_SEED", "7")
    monkeypatch.setenv("STEPDOWN_SIM_PORT", "9100")
    simulator = Settings(STEPDOWN_SIM_SEED=8).simulator
    assert (simulator.seed, simulator.port) == (8, 9100)


def test_a_variable_named_after_a_group_is_no_setting(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SIMULATOR", "not json")
    monkeypatch.setenv("DEVSTACK", '{"STEPDOWN_DEV_SMTP_PORT": 1}')
    settings = Settings()
    assert (settings.simulator.seed, settings.devstack.smtp_port) == (941, 8025)


def test_a_bad_grouped_value_is_refused_naming_its_env_name(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STEPDOWN_SIM_MIX", '{"A9": 1}')
    with pytest.raises(ValidationError, match="STEPDOWN_SIM_MIX") as refused:
        Settings()
    assert "unknown keys ['A9']" in str(refused.value)


def test_production_settings_derived_from_grouped_ones(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STEPDOWN_TEMPORAL_UI_PORT", "9233")
    monkeypatch.setenv("STEPDOWN_DEV_SMTP_PORT", "9025")
    monkeypatch.setenv("STEPDOWN_DATA_DIR", "/srv/dev")
    monkeypatch.setenv("STEPDOWN_SIM_PORT", "9100")
    dev = Settings(STEPDOWN_DEV=True)
    assert dev.ui_origin() == "http://127.0.0.1:9233"
    assert (dev.smtp_host, dev.smtp_port) == ("127.0.0.1", 9025)
    assert dev.temporal_db() == Path("/srv/dev/temporal.db")
    assert dev.simulator.token_url() == "http://127.0.0.1:9100/fhir/auth/token"


def test_the_simulator_command_listens_where_its_variables_say(monkeypatch: pytest.MonkeyPatch):
    import uvicorn
    from typer.testing import CliRunner

    from cli import app

    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: served.update(options))
    monkeypatch.setenv("STEPDOWN_SIM_HOST", "0.0.0.0")
    monkeypatch.setenv("STEPDOWN_SIM_PORT", "9191")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["simulator"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert (served["host"], served["port"]) == ("0.0.0.0", 9191)
