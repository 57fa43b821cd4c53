"""Settings: every environment variable MailMind reads, validated once at start.

The names are the production document's (``DATABASE_URL``, ``REDIS_URL``, ``JWT_SECRET`` …) and
those of PRODUCT_SPEC §2.9. Production (``APP_ENV=production`` or ``NODE_ENV=production``) refuses
to start with missing or weak secrets; the error names the variable.
"""

from __future__ import annotations

import base64
import binascii
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Development defaults: usable on a laptop, refused in production.
DEV_JWT_SECRET = "mailmind-development-jwt-secret-do-not-use-in-production"  # noqa: S105
DEV_ENCRYPTION_KEY = "v1:" + base64.urlsafe_b64encode(b"mailmind-dev-key-not-for-prod-32").decode()
KNOWN_WEAK_SECRETS = {
    DEV_JWT_SECRET,
    "changeme",
    "secret",
    "<sicheres-secret-generieren>",
    "<encryption-key-generieren>",
}


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


def _csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def parse_encryption_keys(raw: str) -> dict[str, bytes]:
    """Parse ``ENCRYPTION_KEY``: ``[id:]base64key[,id:base64key…]``, each key 32 bytes.

    The first key encrypts; every listed key decrypts, so keys can rotate. Without an id the key
    is called ``k1``.
    """
    keys: dict[str, bytes] = {}
    for index, item in enumerate(part.strip() for part in raw.split(",") if part.strip()):
        key_id, _, encoded = item.rpartition(":")
        key_id = key_id or f"k{index + 1}"
        try:
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError) as exc:
            raise ConfigError("ENCRYPTION_KEY: a key is not valid base64") from exc
        if len(key) != 32:
            raise ConfigError(
                "ENCRYPTION_KEY: each key must be 32 bytes (base64 of 32 random bytes); "
                "generate one with `mailmind gen-key`"
            )
        if key_id in keys:
            raise ConfigError(f"ENCRYPTION_KEY: key id {key_id!r} appears twice")
        keys[key_id] = key
    if not keys:
        raise ConfigError("ENCRYPTION_KEY: no key given")
    return keys


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    # Application
    app_env: Literal["development", "test", "production"] = Field(
        "development", validation_alias=AliasChoices("APP_ENV", "NODE_ENV")
    )
    app_version: str = Field("0.1.0", validation_alias="APP_VERSION")
    api_url: str | None = Field(None, validation_alias=AliasChoices("API_URL", "VITE_API_URL"))
    host: str = Field("127.0.0.1", validation_alias="HOST")
    port: int = Field(9000, ge=1, le=65535, validation_alias="PORT")
    data_dir: Path = Field(Path("data"), validation_alias="MAILMIND_DATA_DIR")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", validation_alias="LOG_LEVEL"
    )
    max_json_bytes: int = Field(1_048_576, ge=1024, validation_alias="MAX_JSON_BYTES")

    # Storage
    database_url: SecretStr | None = Field(None, validation_alias="DATABASE_URL")
    database_pool_size: int = Field(20, ge=1, le=500, validation_alias="DATABASE_POOL_SIZE")
    redis_url: SecretStr | None = Field(None, validation_alias="REDIS_URL")
    redis_password: SecretStr | None = Field(None, validation_alias="REDIS_PASSWORD")

    # Security
    jwt_secret: SecretStr = Field(SecretStr(DEV_JWT_SECRET), validation_alias="JWT_SECRET")
    encryption_key: SecretStr = Field(
        SecretStr(DEV_ENCRYPTION_KEY), validation_alias="ENCRYPTION_KEY"
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="ALLOWED_HOSTS"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="CORS_ORIGINS"
    )
    allow_registration: bool = Field(False, validation_alias="ALLOW_REGISTRATION")
    allow_insecure_mail: bool = Field(False, validation_alias="ALLOW_INSECURE_MAIL")
    # Extra CA trusted for users' IMAP/SMTP servers (a private CA), besides the system's.
    mail_ca_file: str | None = Field(None, validation_alias="MAIL_CA_FILE")
    metrics_token: SecretStr | None = Field(None, validation_alias="METRICS_TOKEN")
    access_token_ttl: int = Field(900, ge=60, le=3600, validation_alias="ACCESS_TOKEN_TTL")
    refresh_token_ttl: int = Field(
        7 * 86400, ge=3600, le=90 * 86400, validation_alias="REFRESH_TOKEN_TTL"
    )

    # OAuth
    google_client_id: str | None = Field(None, validation_alias="GOOGLE_CLIENT_ID")
    google_client_secret: SecretStr | None = Field(None, validation_alias="GOOGLE_CLIENT_SECRET")
    microsoft_client_id: str | None = Field(None, validation_alias="MICROSOFT_CLIENT_ID")
    microsoft_client_secret: SecretStr | None = Field(
        None, validation_alias="MICROSOFT_CLIENT_SECRET"
    )
    microsoft_tenant_id: str = Field("common", validation_alias="MICROSOFT_TENANT_ID")
    google_discovery_url: str = Field(
        "https://accounts.google.com/.well-known/openid-configuration",
        validation_alias="GOOGLE_DISCOVERY_URL",
    )
    microsoft_discovery_url: str | None = Field(None, validation_alias="MICROSOFT_DISCOVERY_URL")

    # AI
    llm_provider: Literal["none", "openai", "anthropic"] = Field(
        "none", validation_alias="LLM_PROVIDER"
    )
    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")
    openai_model: str = Field("gpt-4o-mini", validation_alias="OPENAI_MODEL")
    anthropic_api_key: SecretStr | None = Field(None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_model: str = Field("claude-3-5-haiku-latest", validation_alias="ANTHROPIC_MODEL")
    ai_local_only: bool = Field(False, validation_alias="AI_LOCAL_ONLY")
    ai_remote_max_chars: int = Field(8000, ge=500, validation_alias="AI_REMOTE_MAX_CHARS")
    # Azure OpenAI: set the api-version; OPENAI_BASE_URL is then the resource endpoint and
    # OPENAI_MODEL / OPENAI_EMBEDDING_MODEL name deployments.
    openai_api_version: str | None = Field(None, validation_alias="OPENAI_API_VERSION")
    openai_embedding_model: str = Field(
        "text-embedding-3-small", validation_alias="OPENAI_EMBEDDING_MODEL"
    )
    anthropic_base_url: str = Field(
        "https://api.anthropic.com", validation_alias="ANTHROPIC_BASE_URL"
    )
    ai_timeout: float = Field(30.0, gt=0, le=300, validation_alias="AI_TIMEOUT")
    ai_embed_passages: int = Field(1, ge=1, le=8, validation_alias="AI_EMBED_PASSAGES")
    pinecone_api_key: SecretStr | None = Field(None, validation_alias="PINECONE_API_KEY")
    search_min_similarity: float = Field(
        0.35, ge=0.0, le=1.0, validation_alias="SEARCH_MIN_SIMILARITY"
    )

    # Monitoring
    sentry_dsn: SecretStr | None = Field(None, validation_alias="SENTRY_DSN")
    new_relic_license_key: SecretStr | None = Field(None, validation_alias="NEW_RELIC_LICENSE_KEY")

    # System mail
    system_smtp_url: SecretStr | None = Field(None, validation_alias="SYSTEM_SMTP_URL")
    email_from: str = Field("MailMind <no-reply@localhost>", validation_alias="EMAIL_FROM")

    # Sync and import
    sync_initial_days: int = Field(30, ge=1, le=3650, validation_alias="SYNC_INITIAL_DAYS")
    sync_depth_days: int = Field(365, ge=0, le=36500, validation_alias="SYNC_DEPTH_DAYS")
    sync_poll_interval: int = Field(300, ge=10, le=86400, validation_alias="SYNC_POLL_INTERVAL")
    import_max_bytes: int = Field(2 * 1024**3, ge=1024, validation_alias="IMPORT_MAX_BYTES")
    # One message in an imported file; a larger one is counted failed, not loaded.
    import_max_message_bytes: int = Field(
        50 * 1024**2, ge=1024, validation_alias="IMPORT_MAX_MESSAGE_BYTES"
    )

    # Per-user limits, "N/period" with period min or h
    rate_limit_api: str = Field("100/min", validation_alias="RATE_LIMIT_API")
    rate_limit_search: str = Field("20/min", validation_alias="RATE_LIMIT_SEARCH")
    rate_limit_send: str = Field("10/min", validation_alias="RATE_LIMIT_SEND")
    rate_limit_ai: str = Field("50/h", validation_alias="RATE_LIMIT_AI")

    # Jobs
    job_retry_attempts: int = Field(3, ge=0, le=20, validation_alias="JOB_RETRY_ATTEMPTS")
    job_retry_min_seconds: float = Field(4.0, ge=0, validation_alias="JOB_RETRY_MIN_SECONDS")
    job_retry_max_seconds: float = Field(60.0, ge=0, validation_alias="JOB_RETRY_MAX_SECONDS")
    worker_concurrency: int = Field(4, ge=1, le=64, validation_alias="WORKER_CONCURRENCY")
    # Processes that parse incoming mail beside a worker (-1: one when there is a second core).
    ingest_processes: int = Field(-1, ge=-1, le=16, validation_alias="INGEST_PROCESSES")

    # WebSocket (PRODUCT_SPEC §4): seconds to send `auth`, seconds of client silence before close
    ws_auth_timeout: float = Field(10.0, gt=0, le=300, validation_alias="WS_AUTH_TIMEOUT")
    ws_idle_timeout: float = Field(90.0, gt=0, le=3600, validation_alias="WS_IDLE_TIMEOUT")

    backup_s3_uri: str | None = Field(None, validation_alias="BACKUP_S3_URI")

    @field_validator("allowed_hosts", "cors_origins", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        return _csv(value)

    @field_validator("app_env", mode="before")
    @classmethod
    def _normalise_env(cls, value: object) -> object:
        if isinstance(value, str):
            aliases = {"dev": "development", "prod": "production", "testing": "test"}
            lowered = value.strip().lower()
            return aliases.get(lowered, lowered)
        return value

    @field_validator("rate_limit_api", "rate_limit_search", "rate_limit_send", "rate_limit_ai")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @model_validator(mode="after")
    def _check_secrets(self) -> Settings:
        parse_encryption_keys(self.encryption_key.get_secret_value())
        if self.job_retry_min_seconds > self.job_retry_max_seconds:
            raise ConfigError("JOB_RETRY_MIN_SECONDS must not exceed JOB_RETRY_MAX_SECONDS")
        if not self.is_production:
            return self
        jwt = self.jwt_secret.get_secret_value()
        if len(jwt.encode()) < 32 or jwt in KNOWN_WEAK_SECRETS or len(set(jwt)) < 8:
            raise ConfigError(
                "JWT_SECRET must be set to at least 32 random bytes in production "
                "(generate one with `mailmind gen-secret`)"
            )
        key = self.encryption_key.get_secret_value()
        if key == DEV_ENCRYPTION_KEY or key in KNOWN_WEAK_SECRETS:
            raise ConfigError("ENCRYPTION_KEY must be set in production (`mailmind gen-key`)")
        if not self.allowed_hosts:
            raise ConfigError("ALLOWED_HOSTS must list the public host names in production")
        if self.redis_url is None:
            raise ConfigError("REDIS_URL must be set in production (rate limits, revocations)")
        if self.database_url is None:
            raise ConfigError("DATABASE_URL must be set in production")
        return self

    @property
    def public_url(self) -> str:
        """Where users reach MailMind (links in mails): ``API_URL`` or this server."""
        return (self.api_url or f"http://localhost:{self.port}").rstrip("/")

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def encryption_keys(self) -> dict[str, bytes]:
        return parse_encryption_keys(self.encryption_key.get_secret_value())

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None


def parse_rate(value: str) -> tuple[int, int]:
    """``"100/min"`` → (100, 60). Periods: s, min, h, day."""
    periods = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "hour": 3600, "day": 86400}
    count, _, period = value.partition("/")
    try:
        limit = int(count)
    except ValueError as exc:
        raise ConfigError(f"rate {value!r}: expected N/period such as 100/min") from exc
    if period not in periods or limit < 1:
        raise ConfigError(f"rate {value!r}: expected N/period with period s, min, h or day")
    return limit, periods[period]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()


def describe_validation_error(exc: Exception) -> str:
    """Turn a settings error into one line per variable, naming the variable."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        lines = []
        for err in exc.errors():
            loc = err.get("loc") or ()
            name = str(loc[0]).upper() if loc else "configuration"
            message = str(err.get("msg", "invalid"))
            ctx_error = (err.get("ctx") or {}).get("error")
            if isinstance(ctx_error, ConfigError):
                message = str(ctx_error)
            elif name != "configuration":
                message = f"{name}: {message}"
            lines.append(message)
        return "; ".join(lines)
    return str(exc)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
