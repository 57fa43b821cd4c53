"""Realistic English and German mails as the pipeline steps see them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from mailmind.message.quotes import split_reply
from mailmind.pipeline.base import MessageInput, UserContext

# Tuesday, 1 December 2026, 09:00 UTC.
WRITTEN = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ME = "bob@example.org"


def message(
    body: str,
    *,
    subject: str = "Hello",
    sender: str = "anna@acme.com",
    sender_name: str = "Anna Schmidt",
    to: list[str] | None = None,
    cc: list[str] | None = None,
    headers: dict[str, str] | None = None,
    date: datetime | None = WRITTEN,
    language: str = "simple",
    thread_id: uuid.UUID | None = None,
    backfill: bool = False,
    user_id: uuid.UUID | None = None,
    **extra: Any,
) -> MessageInput:
    """A message whose new text is cut from ``body`` the way ingest does it."""
    return MessageInput(
        id=uuid.uuid4(),
        user_id=user_id or uuid.uuid4(),
        account_id=uuid.uuid4(),
        thread_id=thread_id,
        folder_role="inbox",
        subject=subject,
        sender_name=sender_name,
        sender_address=sender,
        to=[{"name": "", "address": a} for a in (to if to is not None else [ME])],
        cc=[{"name": "", "address": a} for a in (cc or [])],
        headers=headers or {},
        body_text=body,
        body_new_text=split_reply(body).new_text,
        date=date,
        language=language,
        has_attachments=False,
        backfill=backfill,
        **extra,
    )


def user(**kw: Any) -> UserContext:
    kw.setdefault("own_addresses", {ME})
    return UserContext(user_id=kw.pop("user_id", uuid.uuid4()), **kw)


CONTRACT_EN = """Hi Bob,

could you send me the signed contract by Friday? The client needs it before the board
meeting, and legal has to review it first.

Thanks,
Anna
"""

VERTRAG_DE = """Hallo Bob,

kannst du mir bitte den unterschriebenen Vertrag bis morgen schicken? Die Rechtsabteilung
muss ihn noch prüfen, bevor er an den Kunden geht.

Viele Grüße
Anna
"""

NEWSLETTER = """Our biggest sale of the year starts today!

Save up to 50% on all winter jackets. Please find our new collection online. This offer is
urgent: only until Friday.

Unsubscribe: https://shop.example/unsubscribe?u=123
"""
NEWSLETTER_HEADERS = {
    "list-unsubscribe": "<https://shop.example/unsubscribe?u=123>",
    "list-id": "<news.shop.example>",
    "precedence": "bulk",
}

FYI_CC = """Hi all,

for your information: the office will be closed on 24 December. The heating will be
serviced that week.

Best regards,
Facility Team
"""

REPLY_WITH_QUOTE = """Sounds good, I will bring the slides.

On Mon, Nov 30, 2026 at 9:00 AM Anna Schmidt <anna@acme.com> wrote:
> Could you present the roadmap on Thursday? It is urgent.
> Please confirm by tomorrow.
"""
