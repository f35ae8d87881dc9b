"""Configuration: one pydantic-settings class, read once by the CLI or tests.

Nothing reads the environment at import time; `Settings()` is constructed by
`cli.py` (or a test fixture) and handed to `create_app`. Every field is listed
with its meaning in `.env.example` and the README's settings table.
Environment variables carry the prefix `ALLOCATION_API_`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Mode = Literal["dev", "serve"]


class Settings(BaseSettings):
    """All settings of the service; defaults suit production except where noted."""

    model_config = SettingsConfigDict(
        env_prefix="ALLOCATION_API_",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    mode: Mode = "serve"
    """`dev` turns on GraphiQL, introspection, suggestions and debug extensions."""

    # --- owned store ---------------------------------------------------------
    database_url: str | None = None
    """postgresql+asyncpg://... ; unset = embedded PostgreSQL under data_dir (dev only)."""
    data_dir: Path = Path(".allocation-api")
    db_pool_size: int = Field(10, ge=1, le=200)
    db_max_overflow: int = Field(10, ge=0, le=200)
    db_pool_timeout_s: float = Field(5.0, gt=0)
    db_statement_timeout_ms: int = Field(10_000, ge=100)

    # --- upstreams -----------------------------------------------------------
    prisoner_search_url: str | None = None
    prison_api_url: str | None = None
    nomis_user_roles_url: str | None = None
    hmpps_auth_url: str | None = None
    """Base URL of the sign-in service (paths /auth/... are appended)."""
    client_id: str | None = None
    client_secret: SecretStr | None = None
    upstream_connect_timeout_s: float = Field(5.0, gt=0)
    upstream_total_timeout_s: float = Field(30.0, gt=0)
    upstream_max_connections: int = Field(50, ge=1, le=1000)
    upstream_retries: int = Field(2, ge=0, le=5)
    """Extra attempts for idempotent reads (so 3 tries in all by default)."""
    upstream_retry_budget: int = Field(10, ge=0)
    """Most retries one GraphQL request may spend across all upstream calls."""
    breaker_failure_threshold: int = Field(5, ge=1)
    breaker_reset_timeout_s: float = Field(10.0, gt=0)
    upstream_batch_size: int = Field(500, ge=1, le=1000)
    """Most keys sent in one batched upstream read (prisoner search caps at 1000)."""

    # --- cross-request caches (seconds; 0 disables) --------------------------
    cache_ttl_poms_s: float = Field(300, ge=0)
    cache_ttl_staff_s: float = Field(3600, ge=0)
    cache_ttl_prisons_s: float = Field(3600, ge=0)
    cache_ttl_users_s: float = Field(300, ge=0)
    cache_ttl_prisoners_s: float = Field(5, ge=0)
    cache_ttl_caseloads_s: float = Field(60, ge=0)
    """Users' caseloads, for reads only (mutations read them from NOMIS every time)."""
    cache_max_entries: int = Field(50_000, ge=100)

    # --- GraphQL limits ------------------------------------------------------
    max_depth: int = Field(12, ge=2)
    max_tokens: int = Field(2000, ge=50)
    max_aliases: int = Field(30, ge=1)
    max_page_size: int = Field(100, ge=1, le=1000)
    max_operations: int = Field(1, ge=1)
    max_body_bytes: int = Field(100_000, ge=1000)
    cost_budget_manager: int = Field(100_000, ge=1)
    """Largest query cost (schema/cost.py) for a user with ROLE_ALLOC_MGR."""
    cost_budget_pom: int = Field(50_000, ge=1)
    """Largest query cost for a POM (ROLE_ALLOC_CASE_MGR), who reads only their own cases."""
    cost_budget_client: int = Field(100_000, ge=1)
    """Largest query cost for a client token with ROLE_VIEW_POM_ALLOCATIONS."""
    max_response_bytes: int = Field(8_000_000, ge=1000)
    """Largest encoded GraphQL response body; a larger one is replaced by RESPONSE_TOO_LARGE."""
    request_deadline_s: float = Field(25.0, gt=0)
    """Time one GraphQL request may take, from arrival: under a typical 30 s proxy timeout."""
    query_cache_size: int = Field(1000, ge=0)
    apq_cache_size: int = Field(1000, ge=0)
    """Automatic persisted queries kept per process (LRU, web/persisted.py); 0 stores none."""
    fast_execution: bool = True
    """Hot fields skip strawberry's per-field wrappers (schema/fast_execution.py); off = plain."""
    gc_gen0_threshold: int = Field(50_000, ge=0)
    """Serving processes freeze start-up objects and use this gen0 threshold (runtime.py)."""

    # --- HTTP server limits (web/server.py) ------------------------------------
    http_max_header_bytes: int = Field(32_768, ge=1024)
    """Largest request line + headers; larger is answered 431 and the connection closed.
    Room for the longest token the verifier reads (16 KiB, auth/verify.py) and the rest."""
    http_max_headers: int = Field(100, ge=10)
    """Most header fields in one request; more is answered 431."""
    http_header_timeout_s: float = Field(10.0, gt=0)
    """A request's head must arrive within this (from the connection or its first byte)."""
    http_body_timeout_s: float = Field(30.0, gt=0)
    """A request's body must arrive within this after its head (else 408, closed)."""
    http_keep_alive_s: int = Field(5, ge=1)
    """An idle kept-alive connection is closed after this."""
    http_max_connections: int = Field(500, ge=1)
    """Open connections per process; one more is answered 503 and closed."""

    # --- health, idempotency --------------------------------------------------
    health_cache_s: float = Field(5.0, ge=0)
    """`/health` reuses its last check for this long (0: check on every call)."""
    idempotency_retention_days: float = Field(7.0, gt=0)
    """A stored mutation response is replayed for this long, then purged."""
    idempotency_purge_interval_s: float = Field(3600.0, ge=0)
    """How often `serve` and `dev` purge expired idempotency keys (0: never in-process)."""
    idempotency_purge_batch: int = Field(1000, ge=1, le=100_000)
    """Rows deleted per statement by the purge."""

    # --- domain events (events/): the outbox and its SNS publisher ---------------
    events_topic_arn: str | None = None
    """SNS topic of the HMPPS domain events; unset = events stay in the outbox (`dev`
    sets its local broker's topic)."""
    events_sns_endpoint_url: str | None = None
    """SNS endpoint; unset = AWS's own for the region (set for a local broker)."""
    events_aws_region: str = "eu-west-2"
    events_aws_access_key_id: str | None = None
    """Explicit credentials (a local broker); unset = the AWS default chain (IRSA, env)."""
    events_aws_secret_access_key: SecretStr | None = None
    events_detail_base_url: str = "http://localhost:8080"
    """Prefix of each event's `detailUrl` (this service's public base URL)."""
    events_publish_interval_s: float = Field(0.5, ge=0)
    """How often `serve` and `dev` look for events to publish (0: no in-process publisher)."""
    events_batch_size: int = Field(100, ge=1, le=10_000)
    """Most prisoners' events one publisher claims per transaction."""
    events_max_attempts: int = Field(10, ge=1, le=1000)
    """Failed tries after which an event is parked (kept, no longer tried)."""
    events_backoff_base_s: float = Field(1.0, gt=0)
    """First retry delay; doubled per failure, with full jitter, up to the max."""
    events_backoff_max_s: float = Field(300.0, gt=0)
    events_publish_timeout_s: float = Field(10.0, gt=0)
    """Longest one SNS publish call may take before it counts as failed."""
    events_retention_days: float = Field(7.0, gt=0)
    """Published events are kept this long (for inspection), then pruned."""
    events_prune_batch: int = Field(1000, ge=1, le=100_000)

    # --- callers' tokens -----------------------------------------------------
    token_issuer: str | None = None
    """Expected `iss` of callers' tokens; unset = <hmpps_auth_url>/auth/issuer."""
    token_leeway_s: int = Field(30, ge=0, le=300)

    # --- dev / debug ---------------------------------------------------------
    migrate_on_start: bool | None = None
    """Run migrations when the app starts; unset = on in dev, off in serve (run `migrate`)."""
    git_ref: str = "unknown"
    """Shown by /info when the build recorded no commit (see `allocation_api/build_info.py`)."""

    # --- observability -----------------------------------------------------------
    otlp_endpoint: str | None = None
    """OTLP/HTTP collector base URL (e.g. http://127.0.0.1:4318); unset = no trace export."""
    trace_console: bool = False
    """Print finished spans to stdout (what `allocation-api dev --trace-console` sets)."""
    log_format: Literal["auto", "json", "text"] = "auto"
    """auto = JSON lines in serve, and in dev unless stderr is a terminal (then text)."""
    debug_extensions: bool | None = None
    """Add extensions.calls and extensions.cost to responses; unset = on in dev, off in serve."""
    debug_cost_actual: bool = True
    """With debug extensions on: also count what the answer holds
    (`extensions.cost.actual`), a walk over the whole answer (the bench turns it
    off to measure what serve does)."""
    sandbox_seed: int = 42
    sandbox_prisoners_per_prison: int = Field(300, ge=10)
    sandbox_latency_ms: int = Field(0, ge=0)

    @property
    def idempotency_retention(self) -> timedelta:
        return timedelta(days=self.idempotency_retention_days)

    @property
    def events_retention(self) -> timedelta:
        return timedelta(days=self.events_retention_days)

    @property
    def is_dev(self) -> bool:
        return self.mode == "dev"

    @property
    def migrate_on_start_on(self) -> bool:
        return self.is_dev if self.migrate_on_start is None else self.migrate_on_start

    @property
    def issuer(self) -> str | None:
        if self.token_issuer:
            return self.token_issuer
        if self.hmpps_auth_url is None:
            return None
        return f"{self.hmpps_auth_url.rstrip('/')}/auth/issuer"

    def missing_for_serve(self) -> list[str]:
        """Settings `serve` cannot run without (names as environment variables)."""
        required = {
            "database_url": self.database_url,
            "prisoner_search_url": self.prisoner_search_url,
            "prison_api_url": self.prison_api_url,
            "nomis_user_roles_url": self.nomis_user_roles_url,
            "hmpps_auth_url": self.hmpps_auth_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        return [f"ALLOCATION_API_{k.upper()}" for k, v in required.items() if not v]

    @property
    def debug_extensions_on(self) -> bool:
        return self.is_dev if self.debug_extensions is None else self.debug_extensions
