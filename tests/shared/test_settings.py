"""Outside demo mode a service refuses to start without a real secret key."""

import secrets

import httpx
import pytest
from pydantic import ValidationError

from shared.auth import Role, decode_token
from shared.registry_client import RegistryClient
from shared.settings import DEMO_SECRET, GUIZHOU, ProvinceSettings, Settings, province_code


def test_no_secret_outside_demo_mode_is_refused(monkeypatch) -> None:
    monkeypatch.delenv("POVGUARD_SECRET_KEY", raising=False)
    monkeypatch.delenv("POVGUARD_DEMO", raising=False)
    with pytest.raises(ValidationError, match="POVGUARD_SECRET_KEY must be set"):
        Settings()


def test_short_or_demo_secret_is_refused_outside_demo_mode() -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(demo=False, secret_key="short")
    with pytest.raises(ValidationError, match="demo secret"):
        Settings(demo=False, secret_key=DEMO_SECRET)


def test_demo_mode_works_without_a_secret_and_database_urls_are_read_plainly(monkeypatch) -> None:
    monkeypatch.delenv("POVGUARD_SECRET_KEY", raising=False)
    monkeypatch.delenv("POVGUARD_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db:5432/pg")
    settings = Settings(demo=True)
    assert settings.secret_key == DEMO_SECRET
    assert settings.async_database_url() == "postgresql+asyncpg://u@db:5432/pg"


def _example_secret() -> str:
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "deploy" / "env.example"
    for line in example.read_text().splitlines():
        if line.startswith("POVGUARD_SECRET_KEY="):
            return line.split("=", 1)[1]
    raise AssertionError("deploy/env.example names no POVGUARD_SECRET_KEY")


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(_example_secret(), id="env.example"),
        pytest.param("change-me-change-me-change-me-change-me", id="change-me"),
        pytest.param("secret" * 6, id="secret-repeated"),
        pytest.param("a" * 64, id="one-character"),
        pytest.param("ab" * 40, id="two-characters"),
        pytest.param("00000000000000000000000000000001", id="low-entropy"),
        pytest.param("this-is-my-placeholder-secret-for-production", id="placeholder"),
    ],
)
def test_placeholder_and_guessable_secrets_are_refused_with_how_to_make_one(secret: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(demo=False, secret_key=secret)
    assert "secrets.token_urlsafe(48)" in str(refused.value)
    with pytest.raises(ValidationError, match="POVGUARD_SERVICE_PASSWORD"):
        Settings(demo=False, secret_key=secrets.token_urlsafe(48), service_password=secret)


def test_a_random_secret_and_service_password_are_accepted() -> None:
    settings = Settings(
        demo=False,
        secret_key=secrets.token_urlsafe(48),
        service_password=secrets.token_urlsafe(24),
    )
    assert len(settings.secret_key) == 64
    assert Settings(demo=False, secret_key=secrets.token_hex(32)).secret_key


def test_demo_mode_still_takes_the_example_secret() -> None:
    assert Settings(demo=True, secret_key=_example_secret()).demo


def test_the_province_is_one_setting_guizhou_by_default(monkeypatch) -> None:
    monkeypatch.delenv("POVGUARD_PROVINCE_CODE", raising=False)
    key = secrets.token_urlsafe(48)
    assert province_code() == GUIZHOU == Settings(secret_key=key).province_code == "520000000000"
    monkeypatch.setenv("POVGUARD_PROVINCE_CODE", "530000000000")  # Yunnan
    assert province_code() == "530000000000"
    assert Settings(secret_key=key).province_code == "530000000000"
    for not_a_province in ("522300000000", "52", "5300000000000", "0"):
        with pytest.raises(ValidationError, match="province_code"):
            ProvinceSettings(province_code=not_a_province)


async def test_a_service_calls_the_registry_as_the_configured_province() -> None:
    settings = Settings(secret_key=secrets.token_urlsafe(48), province_code="530000000000")
    async with httpx.AsyncClient() as http:
        token = RegistryClient(http, settings)._service_token()
    principal = decode_token(settings, token)
    assert (principal.role, principal.region_code) == (Role.service, "530000000000")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://povguard:change-me-database-password@db:5432/povguard",
        "postgresql+asyncpg://povguard:CHANGE-ME@db/povguard",
        "postgresql://povguard@db/povguard?password=replace-me",
        "postgresql://povguard:change%2Dme@db/povguard",
    ],
)
def test_a_placeholder_database_password_is_refused_outside_demo_mode(url: str) -> None:
    """Issue 19.13: the production overlay's ``change-me-database-password`` must not start."""
    key = secrets.token_urlsafe(48)
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings(demo=False, secret_key=key, database_url=url)
    assert Settings(demo=True, secret_key=key, database_url=url).demo
    fine = "postgresql://povguard:" + secrets.token_urlsafe(24) + "@db/povguard"
    assert Settings(demo=False, secret_key=key, database_url=fine).database_url == fine
