"""Auth jobs: system mails (verification, reset, password changed) and account purge."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete

from mailmind.auth import repository as repo
from mailmind.auth.mails import render_mail
from mailmind.integrations.mailer import send_system_mail
from mailmind.jobs.queue import task
from mailmind.models import User


@task("auth.send_mail")
async def send_mail(
    runtime: Any,
    *,
    kind: str,
    user_id: str,
    sealed_token: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> None:
    from mailmind.auth.service import unseal

    async with runtime.db.session() as session:
        user = await repo.get_user(session, uuid.UUID(user_id))
        if user is None:
            return
        token = unseal(runtime, sealed_token) if sealed_token else None
        subject, body = render_mail(
            kind,
            language=user.language,
            app_url=runtime.settings.public_url,
            name=user.full_name or user.email,
            token=token,
            ip=ip,
            user_agent=user_agent,
        )
        smtp_url = runtime.settings.system_smtp_url
        await send_system_mail(
            smtp_url.get_secret_value() if smtp_url else None,
            sender=runtime.settings.email_from,
            to=user.email,
            subject=subject,
            body=body,
        )


@task("auth.purge_user")
async def purge_user(runtime: Any, *, user_id: str) -> None:
    """Delete a user who deleted their account, with all local data (cascades)."""
    async with runtime.db.session() as session:
        await session.execute(
            delete(User).where(User.id == uuid.UUID(user_id), User.deleted_at.is_not(None))
        )
