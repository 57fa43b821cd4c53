"""Optional error and performance monitoring: Sentry (``SENTRY_DSN``) and New Relic
(``NEW_RELIC_LICENSE_KEY``), installed with the extras ``mailmind[sentry]`` and
``mailmind[newrelic]``. Both must start before the web framework is imported."""

from __future__ import annotations

import os

import structlog

from mailmind.config import Settings
from mailmind.logging import configure_logging

log = structlog.get_logger(__name__)
_started = False


def init_process(settings: Settings, *, role: str) -> None:
    """Logging, Sentry and New Relic for this process (idempotent)."""
    global _started
    if _started:
        return
    _started = True
    configure_logging(json=settings.is_production, level=settings.log_level)
    if settings.sentry_dsn is not None:
        try:
            import sentry_sdk
        except ImportError:
            log.warning("sentry_unavailable", hint="pip install 'mailmind[sentry]'")
        else:
            sentry_sdk.init(
                dsn=settings.sentry_dsn.get_secret_value(),
                environment=settings.app_env,
                release=settings.app_version,
                send_default_pii=False,  # no addresses, bodies or cookies leave the server
                traces_sample_rate=0.0,
                server_name=role,
            )
            log.info("sentry_enabled")
    if settings.new_relic_license_key is not None:
        try:
            import newrelic.agent
        except ImportError:
            log.warning("newrelic_unavailable", hint="pip install 'mailmind[newrelic]'")
        else:
            os.environ.setdefault("NEW_RELIC_APP_NAME", f"MailMind ({settings.app_env})")
            os.environ["NEW_RELIC_LICENSE_KEY"] = settings.new_relic_license_key.get_secret_value()
            newrelic.agent.initialize()
            log.info("newrelic_enabled")
