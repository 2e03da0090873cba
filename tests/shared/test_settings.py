"""Outside demo mode a service refuses to start without a real secret key."""

import pytest
from pydantic import ValidationError

from shared.settings import DEMO_SECRET, Settings


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
