"""Process settings, read from the environment with the ``POVGUARD_`` prefix.

``DATABASE_URL`` and ``REDIS_URL`` are also read without the prefix, as operators expect.
"""

import math
from collections import Counter
from functools import lru_cache
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.i18n import Message, t

DEMO_SECRET = "povguard-demo-secret-do-not-use-in-production-0000"
MAKE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
MIN_SECRET_BITS = 128
# Words that mark a value copied from an example or written to be replaced (deploy/env.example
# ships "replace-with-at-least-32-random-characters").
_PLACEHOLDER_MARKS = (
    "change-me",
    "changeme",
    "change_me",
    "replace",
    "placeholder",
    "example",
    "your-secret",
    "your_secret",
    "secret-key",
    "secret_key",
    "insert-",
)


def estimated_secret_bits(value: str) -> float:
    """A cautious estimate of a secret's entropy: its length times the bits a character can
    carry, judged both by the character classes it uses and by how evenly it uses its
    characters (one more bit than the Shannon entropy of its letters), whichever is less."""
    if not value:
        return 0.0
    pool = sum(
        size
        for present, size in (
            (any(c.islower() for c in value), 26),
            (any(c.isupper() for c in value), 26),
            (any(c.isdigit() for c in value), 10),
            (any(not c.isalnum() for c in value), 33),
        )
        if present
    )
    n = len(value)
    shannon = -sum(k / n * math.log2(k / n) for k in Counter(value).values())
    return n * min(math.log2(pool), shannon + 1)


def _repeats_itself(value: str) -> bool:
    """ "abcabcabc", "change-me-change-me": a short piece said again and again."""
    return any(value[p:] == value[:-p] for p in range(1, len(value) // 2 + 1))


def weak_secret_reason(value: str) -> str | None:
    """Why ``value`` may not sign tokens or guard an account outside demo mode, or None."""
    lowered = value.lower()
    if value == DEMO_SECRET:
        return "is the demo secret, which may not be used outside demo mode"
    if _placeholder(lowered):
        return "looks like a placeholder copied from an example"
    if len(value) < 32:
        return "must be at least 32 characters"
    if _repeats_itself(value):
        return "repeats the same characters"
    if estimated_secret_bits(value) < MIN_SECRET_BITS:
        return t(
            "is too predictable (fewer than {bits} bits of entropy)",
            "secret.predictable",
            bits=MIN_SECRET_BITS,
        )
    return None


GUIZHOU = "520000000000"


class ProvinceSettings(BaseSettings):
    """The province this deployment serves: the region of the service account, the first
    admin and the scheduled scans. A 12-digit province code (two digits, then ten zeros)."""

    model_config = SettingsConfigDict(env_prefix="POVGUARD_", extra="ignore")

    province_code: str = Field(default=GUIZHOU, pattern=r"^[1-9][0-9]0{10}$")


def province_code() -> str:
    """``POVGUARD_PROVINCE_CODE``, for code that has no ``Settings`` at hand (a process's
    ``Settings`` reads the same variable)."""
    return ProvinceSettings().province_code


def _placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(mark in lowered for mark in _PLACEHOLDER_MARKS)


def _database_password(url: str) -> str:
    """The password in a database URL (``postgresql://user:password@host/db``), decoded."""
    try:
        parts = urlsplit(url)
        in_query = parse_qs(parts.query).get("password", [""])[0]  # libpq's ?password=
        return unquote(parts.password or "") + in_query
    except ValueError:
        return ""


def _refuse(variable: str, reason: str) -> ValueError:
    return ValueError(
        t(
            "{variable} {reason}; make a random one with: {command}",
            "settings.weak_secret",
            variable=variable,
            reason=reason if isinstance(reason, Message) else t(reason),
            command=MAKE_SECRET,
        )
    )


class Settings(ProvinceSettings):
    model_config = SettingsConfigDict(env_prefix="POVGUARD_", extra="ignore")

    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/povguard",
        validation_alias=AliasChoices("POVGUARD_DATABASE_URL", "DATABASE_URL"),
    )
    # A streaming replica (standby) of the database, optional: scans' reads, feeds, lists,
    # exports, reports and statistics read from it (shared/replica). Empty: all on the primary.
    database_replica_url: str = Field(
        default="",
        validation_alias=AliasChoices("POVGUARD_DATABASE_REPLICA_URL", "DATABASE_REPLICA_URL"),
    )
    # A read that must see the client's own write waits at most this long for the replica to
    # replay it, then reads the primary; a replica further behind than ``replica_max_lag_s``
    # (or down) serves nothing until it catches up. Its state is checked every
    # ``replica_check_s``.
    replica_wait_s: float = 2.0
    replica_max_lag_s: float = 30.0
    replica_check_s: float = 1.0
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("POVGUARD_REDIS_URL", "REDIS_URL"),
    )
    demo: bool = False
    secret_key: str = ""
    token_minutes: int = 30
    # A person's refresh token lives this long unused (each use issues a new one).
    refresh_token_days: int = 30
    # How long a service trusts what it last read about an account (deactivated? which token
    # version?) before asking Redis again: the delay before a revocation bites everywhere.
    account_cache_seconds: float = 5.0
    max_body_bytes: int = 2 * 1024 * 1024
    max_upload_bytes: int = 64 * 1024 * 1024
    db_pool_size: int = 10
    # A request's headers must arrive within this (a client trickling them holds a connection).
    header_timeout_s: float = 10.0
    # A pooled connection idle longer than this is pinged before use, so one that a database
    # restart closed is replaced unseen; busier connections skip the round trip.
    db_ping_idle_s: float = 5.0
    # Bulk jobs (imports, scans) take their connections from a pool of their own this small,
    # so a province-wide job can never hold the connections cadres' requests need.
    # An import takes two (its two lanes), a county scan one; the pool's overflow doubles it.
    bulk_db_pool_size: int = 3
    registry_url: str = "http://127.0.0.1:8001"
    monitoring_url: str = "http://127.0.0.1:8002"
    funds_url: str = "http://127.0.0.1:8003"
    # Where clients reach each service (behind a reverse proxy these differ from the internal
    # URLs above); the OpenAPI documents name them. Empty: the internal URL.
    public_registry_url: str = ""
    public_monitoring_url: str = ""
    public_funds_url: str = ""
    # The villagers' declaration page (monitoring's /declare/{village_code}) as a phone reaches
    # it: what the printed QR codes point to. Empty: the public monitoring URL + /declare.
    declaration_page_url: str = ""
    # A font with Chinese glyphs for the village's name under a PNG QR code (e.g. Debian's
    # fonts-noto-cjk). Empty: the first of the usual Debian paths that exists.
    qr_font: str = ""
    # Credentials the monitoring and funds services use to call the registry.
    service_username: str = "povguard-service"
    service_password: str = ""
    queue_name: str = "povguard:queue"
    # Proxies whose X-Forwarded-For is believed (comma-separated addresses or CIDRs, e.g. the
    # ingress's network). Empty: the header is ignored and the peer address is the client's.
    trusted_proxies: str = ""
    # Web app origins allowed to call the APIs from a browser (comma-separated); none by default.
    cors_origins: str = ""
    # Operations: the worker's /metrics and /healthz port (0: none), and how long a stopping
    # process lets its in-flight requests (APIs) or running jobs (worker) finish.
    worker_metrics_port: int = 8004
    worker_metrics_host: str = "127.0.0.1"
    graceful_timeout_s: int = 25
    job_completion_wait_s: int = 25
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
    # DCI (services/registry/dci). The registry's Ed25519 signing key: a PEM (PKCS#8) private
    # key in ``dci_signing_key`` or in the file ``dci_signing_key_file``; neither: one derived
    # from ``secret_key`` (demo mode and tests), the same in every process of a deployment.
    dci_signing_key: str = ""
    dci_signing_key_file: str = ""
    dci_sender_id: str = "povguard-registry"  # the registry's ``sender_id`` in its messages
    dci_rate_per_minute: int = 120  # DCI requests a client may send per minute
    dci_rate_per_day: int = 50_000  # ... and per day
    dci_max_page_size: int = 100  # records in one search answer
    dci_max_records: int = 10_000  # a search matching more is refused (too many records)
    dci_subscription_days: int = 365  # a subscription's longest (and default) life
    dci_txn_days: int = 30  # transaction statuses are kept this long

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> "Settings":
        """Outside demo mode: no missing, example, placeholder or guessable secret."""
        if not self.secret_key:
            if not self.demo:
                raise _refuse(
                    "POVGUARD_SECRET_KEY", "must be set (at least 32 characters) outside demo mode"
                )
            self.secret_key = DEMO_SECRET
        elif not self.demo and (reason := weak_secret_reason(self.secret_key)):
            raise _refuse("POVGUARD_SECRET_KEY", reason)
        elif self.demo and len(self.secret_key) < 32:
            raise _refuse("POVGUARD_SECRET_KEY", "must be at least 32 characters")
        password = self.service_password
        if password and not self.demo and (reason := weak_secret_reason(password)):
            raise _refuse("POVGUARD_SERVICE_PASSWORD", reason)
        for variable, url in (
            ("DATABASE_URL", self.database_url),
            ("DATABASE_REPLICA_URL", self.database_replica_url),
        ):
            if not self.demo and _placeholder(_database_password(url)):
                raise _refuse(variable, "has a password that looks like a placeholder")
        return self

    def public_url(self, service: str) -> str:
        """Where clients reach ``service`` (registry, monitoring, funds)."""
        public = getattr(self, f"public_{service}_url", "")
        return str(public or getattr(self, f"{service}_url", "")).rstrip("/")

    def declaration_page(self, village_code: str) -> str:
        """The public address of ``village_code``'s declaration page (its QR code's content)."""
        base = self.declaration_page_url or f"{self.public_url('monitoring')}/declare"
        return f"{base.rstrip('/')}/{village_code}"

    def replica_settings(self) -> "Settings | None":
        """These settings with the replica as the database (None when there is no replica)."""
        if not self.database_replica_url:
            return None
        return self.model_copy(update={"database_url": self.database_replica_url})

    def async_database_url(self) -> str:
        """The DSN for SQLAlchemy's asyncpg dialect."""
        url = self.database_url
        for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        raise ValueError(
            t("unsupported database URL: {url}", "settings.database_url", url=repr(url))
        )

    def asyncpg_dsn(self) -> str:
        """The DSN for a bare asyncpg connection (COPY, bench scripts)."""
        return self.async_database_url().replace("postgresql+asyncpg://", "postgresql://", 1)


@lru_cache
def get_settings() -> Settings:
    return Settings()
