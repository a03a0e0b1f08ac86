"""Settings: PARKOS_ environment, typed, inherited by services."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from parkos.config import ParkSettings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.upper().startswith("PARKOS_"):
            monkeypatch.delenv(name)


def test_defaults_point_at_the_local_infrastructure():
    settings = load_settings()
    assert settings.environment == "development"
    assert settings.kafka_bootstrap == "127.0.0.1:19092"
    assert settings.mongo_uri.startswith("mongodb://127.0.0.1:27117/")
    assert settings.grpc_port == 0 and settings.metrics_port == 0
    assert settings.token_public_key_file is None and settings.token_private_key_file is None
    assert settings.token_issuer == "park-os"
    assert settings.grpc_address == "127.0.0.1:0"


def test_environment_is_read_with_prefix_and_typed(monkeypatch, tmp_path):
    monkeypatch.setenv("PARKOS_GRPC_PORT", "50051")
    monkeypatch.setenv("PARKOS_ENVIRONMENT", "production")
    monkeypatch.setenv("PARKOS_LOG_LEVEL", "debug")
    monkeypatch.setenv("PARKOS_TOKEN_PUBLIC_KEY_FILE", str(tmp_path / "pub.pem"))
    monkeypatch.setenv("GRPC_PORT", "1")  # no prefix: not ours
    settings = load_settings()
    assert settings.grpc_port == 50051
    assert settings.is_production
    assert settings.log_level == "DEBUG"
    assert settings.token_public_key_file == Path(tmp_path / "pub.pem")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PARKOS_GRPC_PORT", "not-a-port"),
        ("PARKOS_GRPC_PORT", "70000"),
        ("PARKOS_METRICS_PORT", "-1"),
        ("PARKOS_ENVIRONMENT", "staging"),
        ("PARKOS_LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_values_fail_at_start(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        load_settings()


def test_unknown_environment_variables_are_ignored(monkeypatch):
    monkeypatch.setenv("PARKOS_SOMEONE_ELSES_SETTING", "x")
    assert load_settings().service_name == "parkos"


def test_overrides_win_over_environment(monkeypatch):
    monkeypatch.setenv("PARKOS_GRPC_PORT", "50051")
    assert load_settings(grpc_port=6000).grpc_port == 6000


def test_misspelt_override_is_an_error():
    with pytest.raises(ValidationError):
        load_settings(grcp_port=6000)


class TradesSettings(ParkSettings):
    default_fee_bps: int = 250


def test_service_settings_inherit_the_prefix(monkeypatch):
    monkeypatch.setenv("PARKOS_DEFAULT_FEE_BPS", "300")
    monkeypatch.setenv("PARKOS_SERVICE_NAME", "trades")
    settings = load_settings(TradesSettings)
    assert isinstance(settings, TradesSettings)
    assert settings.default_fee_bps == 300
    assert settings.service_name == "trades"
