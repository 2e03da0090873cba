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
    # Webhooks (shared/webhooks). Targets must be https, except these hosts (comma-separated),
    # which an operator allows over plain http (a receiver inside the same trusted network).
    webhook_http_hosts: str = ""
    # Tests and the demo: let a subscription target this machine (loopback, also over http).
    # Private, link-local and other non-public addresses stay refused.
    webhook_allow_loopback: bool = False
    webhook_timeout_s: float = 5.0  # connect + answer, per attempt
    webhook_concurrency: int = 32  # requests in flight per subscription
    webhook_retry_hours: float = 26.0  # a delivery is retried this long (at least 24 h)
    webhook_disable_after_hours: float = 72.0  # every attempt failing this long disables it
    webhook_retention_days: int = 7  # deliveries (and their log) are kept this long

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
