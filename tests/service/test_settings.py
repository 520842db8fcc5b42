"""Settings: defaults, the SERVING_ prefix, and list values as comma-separated or JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from service.settings import Settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("SERVING_"):
            monkeypatch.delenv(name)


def test_defaults_serve_every_model_on_loopback() -> None:
    settings = Settings()
    assert settings.model_repository == Path("models")
    assert settings.models is None
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.providers is None
    assert settings.max_instances_per_request == 64
    assert settings.max_body_bytes == 8_388_608
    assert settings.max_text_chars == 100_000
    assert settings.queue_capacity == 256
    assert settings.request_timeout_s == 10.0
    assert settings.log_format == "text"


@pytest.mark.parametrize(
    "variable", ["SERVING_MAX_INSTANCES_PER_REQUEST", "SERVING_MAX_BATCH_SIZE"]
)
def test_instances_per_request_reads_its_old_name_too(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "8")
    assert Settings().max_instances_per_request == 8


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("digits-cnn,sentiment-lstm", ["digits-cnn", "sentiment-lstm"]),
        (" digits-cnn , sentiment-lstm ", ["digits-cnn", "sentiment-lstm"]),
        ('["digits-cnn", "gan-dcgan"]', ["digits-cnn", "gan-dcgan"]),
        ("", None),
    ],
)
def test_models_accept_comma_separated_or_json(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str] | None
) -> None:
    monkeypatch.setenv("SERVING_MODELS", value)
    assert Settings().models == expected


def test_environment_overrides_every_kind_of_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVING_MODEL_REPOSITORY", "/srv/models")
    monkeypatch.setenv("SERVING_PORT", "9000")
    monkeypatch.setenv("SERVING_PROVIDERS", "cuda,cpu")
    monkeypatch.setenv("SERVING_MAX_QUEUE_DELAY_MS", "0")
    monkeypatch.setenv("SERVING_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("SERVING_LOG_FORMAT", "json")
    settings = Settings()
    assert settings.model_repository == Path("/srv/models")
    assert settings.port == 9000
    assert settings.providers == ["cuda", "cpu"]
    assert settings.max_queue_delay_ms == 0.0
    assert (settings.log_level, settings.log_format) == ("debug", "json")


@pytest.mark.parametrize(
    ("name", "value"),
    [("SERVING_LOG_FORMAT", "xml"), ("SERVING_PORT", "-1"), ("SERVING_QUEUE_CAPACITY", "0")],
)
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_reliability_settings_default_to_off() -> None:
    settings = Settings()
    assert settings.api_keys is None
    assert settings.admin_token is None
    assert settings.cors_origins is None
    assert settings.reload_interval_s == 0
    assert (settings.drain_grace_s, settings.drain_timeout_s) == (5.0, 30.0)
    assert settings.max_digit_body_bytes == 8_388_608
    assert settings.max_sentiment_body_bytes == 1_048_576


def test_credentials_come_from_the_environment_and_stay_out_of_reprs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SERVING_API_KEYS", "key-a, key-b")
    monkeypatch.setenv("SERVING_ADMIN_TOKEN", "admin-secret")
    monkeypatch.setenv("SERVING_CORS_ORIGINS", '["https://a.example", "https://b.example"]')
    settings = Settings()
    assert [key.get_secret_value() for key in settings.api_keys or []] == ["key-a", "key-b"]
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == "admin-secret"
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "key-a" not in text
        assert "admin-secret" not in text


def test_a_blank_admin_token_leaves_admin_routes_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVING_ADMIN_TOKEN", "  ")
    assert Settings().admin_token is None


def test_a_body_deadline_past_the_drain_timeout_is_refused() -> None:
    with pytest.raises(ValidationError, match="must not exceed drain_timeout_s"):
        Settings(body_timeout_s=40, drain_timeout_s=30)
    assert Settings(body_timeout_s=40, drain_timeout_s=0).body_timeout_s == 40, "0: no drain wait"
