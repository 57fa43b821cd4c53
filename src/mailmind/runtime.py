"""The per-process runtime: settings, database, shared store, secret box and the job queue.

The API builds one in its lifespan, the worker before it starts; services receive what they need
from it, never from globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import httpx

from mailmind.auth.usercache import AuthUserCache
from mailmind.config import Settings, parse_rate
from mailmind.db import Database
from mailmind.kit.crypto import SecretBox
from mailmind.redis import Store, create_store


@dataclass
class Runtime:
    settings: Settings
    db: Database
    store: Store
    secrets: SecretBox
    redis_configured: bool = field(default=False)
    user_cache: AuthUserCache = field(default_factory=AuthUserCache)
    # Outgoing HTTP (OAuth providers, later AI providers); tests pass one with a fake transport.
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30))
    oidc_clients: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings, database_url: str) -> Runtime:
        redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
        password = settings.redis_password.get_secret_value() if settings.redis_password else None
        return cls(
            settings=settings,
            db=Database(database_url, pool_size=settings.database_pool_size),
            store=create_store(redis_url, password),
            secrets=SecretBox(settings.encryption_keys),
            redis_configured=redis_url is not None,
        )

    @cached_property
    def api_rate(self) -> tuple[int, int]:
        """``RATE_LIMIT_API`` as (requests, window seconds)."""
        return parse_rate(self.settings.rate_limit_api)

    async def close(self) -> None:
        await self.http.aclose()
        await self.store.close()
        await self.db.dispose()
