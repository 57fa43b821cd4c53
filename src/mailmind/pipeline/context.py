"""Loading a batch: the messages as :class:`MessageInput` and one :class:`UserContext` per
owner (addresses, correspondents, tags, corrections, AI settings)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import String, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.kit.time import utcnow
from mailmind.models import (
    AIFeedback,
    Folder,
    MailAccount,
    Message,
    Tag,
    User,
)
from mailmind.pipeline.base import MessageInput, UserContext

ACTIVE_THREAD_DAYS = 14
# The most recent corrections are the ones that say what the user wants now.


@dataclass
class LoadedMessage:
    """A message of the batch with what the runner needs besides the steps' input."""

    input: MessageInput
    dedupe_key: str | None
    ai_enabled: bool  # the account's switch


def _headers(raw: dict[str, Any]) -> dict[str, str]:
    return {
        str(k): v
        if isinstance(v, str)
        else ", ".join(map(str, v))
        if isinstance(v, list)
        else str(v)
        for k, v in raw.items()
    }


async def load_messages(
    session: AsyncSession, message_ids: Sequence[uuid.UUID], *, backfill: bool
) -> list[LoadedMessage]:
    """The batch's messages that still exist (deleted ones are dropped), in id order."""
    if not message_ids:
        return []
    rows = await session.execute(
        select(Message, Folder.role, MailAccount.ai_enabled)
        .join(MailAccount, MailAccount.id == Message.account_id)
        .outerjoin(Folder, Folder.id == Message.folder_id)
        .where(Message.id.in_(list(message_ids)), Message.deleted_at.is_(None))
        .order_by(Message.id)
    )
    loaded = []
    for message, role, ai_enabled in rows:
        loaded.append(
            LoadedMessage(
                input=MessageInput(
                    id=message.id,
                    user_id=message.user_id,
                    account_id=message.account_id,
                    thread_id=message.thread_id,
                    folder_role=role,
                    subject=message.subject,
                    sender_name=message.sender_name,
                    sender_address=message.sender_address.lower(),
                    to=list(message.to_addrs),
                    cc=list(message.cc_addrs),
                    headers=_headers(message.headers),
                    body_text=message.body_text,
                    body_new_text=message.body_new_text,
                    date=message.date,
                    language=message.language,
                    has_attachments=message.has_attachments,
                    backfill=backfill,
                ),
                dedupe_key=message.dedupe_key,
                ai_enabled=ai_enabled,
            )
        )
    return loaded


def _addresses(messages: Iterable[MessageInput]) -> list[str]:
    found: set[str] = set()
    for m in messages:
        if m.sender_address:
            found.add(m.sender_address.lower())
        for entry in [*m.to, *m.cc]:
            address = (entry.get("address") or "").lower()
            if address:
                found.add(address)
    return sorted(found)


def _priority_of(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, dict):
        for key in ("priority", "score"):
            if isinstance(value.get(key), int | float):
                return int(value[key])
    return None


async def load_user_contexts(
    session: AsyncSession,
    runtime: Any,
    messages: Sequence[MessageInput],
) -> dict[uuid.UUID, UserContext]:
    """One context per owner of ``messages``. Correspondent counts cover the addresses that
    occur in the batch (the only ones the steps ask about)."""
    by_user: dict[uuid.UUID, list[MessageInput]] = {}
    for m in messages:
        by_user.setdefault(m.user_id, []).append(m)
    contexts = {}
    for user_id, batch in by_user.items():
        contexts[user_id] = await load_user_context(session, runtime, user_id, batch)
    return contexts


async def load_user_context(
    session: AsyncSession, runtime: Any, user_id: uuid.UUID, batch: Sequence[MessageInput]
) -> UserContext:
    user = await session.get(User, user_id)
    settings: dict[str, Any] = dict(user.settings) if user else {}
    ai: dict[str, Any] = dict(settings.get("ai") or {})
    if runtime is not None and runtime.settings.ai_local_only:
        ai["local_only"] = True
    own = {
        a.lower()
        for a in await session.scalars(
            select(MailAccount.email).where(MailAccount.user_id == user_id)
        )
    }
    if user:
        own.add(user.email.lower())
    addresses = _addresses(batch)

    sent_folder_ids = select(Folder.id).where(Folder.user_id == user_id, Folder.role == "sent")
    recipient = (
        func.jsonb_array_elements(Message.to_addrs.op("||")(Message.cc_addrs))
        .table_valued("value")
        .render_derived(name="r")
    )
    address = func.lower(recipient.c.value.op("->>")(literal_column("'address'")))
    sent_to: dict[str, int] = {}
    if addresses:
        rows = await session.execute(
            select(address.label("address"), func.count())
            .select_from(Message)
            .join(recipient, literal_column("true"))
            .where(
                Message.user_id == user_id,
                Message.deleted_at.is_(None),
                (Message.folder_id.in_(sent_folder_ids))
                | (func.lower(Message.sender_address).in_(sorted(own))),
                address.in_(addresses),
            )
            .group_by(address)
        )
        sent_to = {str(a): int(n) for a, n in rows}

    answered: set[str] = set()
    senders = sorted({m.sender_address.lower() for m in batch if m.sender_address})
    if senders:
        answered = {
            s.lower()
            for s in await session.scalars(
                select(Message.sender_address)
                .where(
                    Message.user_id == user_id,
                    Message.is_answered.is_(True),
                    func.lower(Message.sender_address).in_(senders),
                )
                .distinct()
            )
        }

    threads = sorted({m.thread_id for m in batch if m.thread_id}, key=str)
    active: set[uuid.UUID] = set()
    if threads:
        since = utcnow() - timedelta(days=ACTIVE_THREAD_DAYS)
        active = {
            t
            for t in await session.scalars(
                select(Message.thread_id)
                .where(
                    Message.user_id == user_id,
                    Message.thread_id.in_(threads),
                    Message.date >= since,
                    (Message.folder_id.in_(sent_folder_ids))
                    | (func.lower(Message.sender_address).in_(sorted(own))),
                )
                .distinct()
            )
            if t is not None
        }

    tags = list(
        await session.scalars(select(Tag.path).where(Tag.user_id == user_id).order_by(Tag.path))
    )

    vip_setting = ai.get("vip_senders") or settings.get("vip_senders") or []
    vip = {str(v).lower() for v in vip_setting if isinstance(v, str)}

    return UserContext(
        user_id=user_id,
        own_addresses=own,
        sent_to=sent_to,
        answered_senders=answered,
        vip=vip,
        existing_tags=tags,
        active_threads=active,
        priority_overrides=await priority_overrides(session, user_id),
        language=(user.language if user else "en")
        if (user and user.language in ("en", "de"))
        else "en",
        ai=ai,
    )


async def priority_overrides(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """``sender -> priority`` from the user's latest priority correction per sender."""
    rows = await session.execute(
        select(func.lower(AIFeedback.sender_address).cast(String), AIFeedback.new_value)
        .where(
            AIFeedback.user_id == user_id,
            AIFeedback.feature == "priority",
            AIFeedback.sender_address.is_not(None),
        )
        .order_by(AIFeedback.created_at)
    )
    overrides: dict[str, int] = {}
    for sender, value in rows:
        priority = _priority_of(value)
        if sender and priority is not None:
            overrides[sender] = max(0, min(100, priority))
    return overrides
