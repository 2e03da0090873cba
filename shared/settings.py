"""Process settings, read from the environment with the ``POVGUARD_`` prefix.

``DATABASE_URL`` and ``REDIS_URL`` are also read without the prefix, as operators expect.
"""

from functools import lru_cache

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET = "povguard-demo-secret-do-not-use-in-production-0000"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POVGUARD_", extra="ignore")

    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/povguard",
        validation_alias=AliasChoices("POVGUARD_DATABASE_URL", "DATABASE_URL"),
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("POVGUARD_REDIS_URL", "REDIS_URL"),
    )
    demo: bool = False
    secret_key: str = ""
    token_minutes: int = 30
    max_body_bytes: int = 2 * 1024 * 1024
    max_upload_bytes: int = 64 * 1024 * 1024
    db_pool_size: int = 10
    registry_url: str = "http://127.0.0.1:8001"
    monitoring_url: str = "http://127.0.0.1:8002"
    funds_url: str = "http://127.0.0.1:8003"
    # Credentials the monitoring and funds services use to call the registry.
    service_username: str = "povguard-service"
    service_password: str = ""
    queue_name: str = "povguard:queue"
    # Proxies whose X-Forwarded-For is believed (comma-separated addresses or CIDRs, e.g. the
    # ingress's network). Empty: the header is ignored and the peer address is the client's.
    trusted_proxies: str = ""
    # The job layer (shared/outbox.py, workers/): long work beats every ``job_heartbeat_s``;
    # work without a beat for ``job_stale_s`` is dispatched again by the sweeper (every
    # ``sweep_every_s``) up to ``job_attempts`` times, then failed with the reason. The relay
    # sends outbox rows every ``relay_every_s``. An import job loads chunks of
    # ``import_chunk_rows`` rows for at most ``import_budget_s`` before handing on to the next.
    job_heartbeat_s: float = 10.0
    job_stale_s: float = 90.0
    job_attempts: int = 3
    sweep_every_s: int = 20
    relay_every_s: int = 5
    import_chunk_rows: int = 50_000
    import_budget_s: float = 60.0
    # A scan asked for through the API first brings the projection up to the registry's feed
    # position; it waits at most this long.
    scan_catch_up_s: float = 10.0

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> "Settings":
        if not self.secret_key:
            if not self.demo:
                raise ValueError(
                    "POVGUARD_SECRET_KEY must be set (at least 32 characters) outside demo mode"
                )
            self.secret_key = DEMO_SECRET
        elif len(self.secret_key) < 32:
            raise ValueError("POVGUARD_SECRET_KEY must be at least 32 characters")
        elif self.secret_key == DEMO_SECRET and not self.demo:
            raise ValueError("the demo secret key may not be used outside demo mode")
        return self

    def async_database_url(self) -> str:
        """The DSN for SQLAlchemy's asyncpg dialect."""
        url = self.database_url
        for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        raise ValueError(f"unsupported database URL: {url!r}")

    def asyncpg_dsn(self) -> str:
        """The DSN for a bare asyncpg connection (COPY, bench scripts)."""
        return self.async_database_url().replace("postgresql+asyncpg://", "postgresql://", 1)


@lru_cache
def get_settings() -> Settings:
    return Settings()
