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
    # Operations: the worker's /metrics and /healthz port (0: none), and how long a stopping
    # process lets its in-flight requests (APIs) or running jobs (worker) finish.
    worker_metrics_port: int = 8004
    worker_metrics_host: str = "127.0.0.1"
    graceful_timeout_s: int = 25
    job_completion_wait_s: int = 25

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
