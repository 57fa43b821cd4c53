"""Threads, messages with their compressed raw source, attachments and search chunks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from mailmind.models.base import Base, created_at, updated_at, uuid_pk

EMBEDDING_DIMENSIONS = 384
# Predicates of the partial indexes behind folder counts, as the count queries write them.
LIVE = "deleted_at IS NULL"
UNREAD = "is_read IS false AND deleted_at IS NULL AND snoozed_until IS NULL"
AI_STATUSES = ("pending", "processing", "done", "partial", "failed", "skipped")
SEND_STATUSES = ("draft", "scheduled", "queued", "sending", "sent", "failed")


class Thread(Base):
    __tablename__ = "threads"
    __table_args__ = (
        Index("ix_threads_user_last", "user_id", "last_message_at"),
        Index("ix_threads_account_subject", "account_id", "normalized_subject"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("mail_accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    subject: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    normalized_subject: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    root_message_id: Mapped[str | None] = mapped_column(Text)
    first_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    unread_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Message(Base):
    """One message in one folder. ``(account, folder, uidvalidity, uid)`` is unique; the same
    Message-ID in two folders shares AI results through ``dedupe_key``."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint(
            "account_id", "folder_id", "uidvalidity", "uid", name="uq_messages_folder_uid"
        ),
        CheckConstraint(
            "ai_status IN ({})".format(", ".join(repr(s) for s in AI_STATUSES)), name="ai_status"
        ),
        CheckConstraint(
            "send_status IS NULL OR send_status IN ({})".format(
                ", ".join(repr(s) for s in SEND_STATUSES)
            ),
            name="send_status",
        ),
        CheckConstraint("priority IS NULL OR priority BETWEEN 0 AND 100", name="priority"),
        # A user's mail newest first, in the order of every list and search (date DESC NULLS
        # LAST, id DESC): a page is read from the index instead of sorting every match. Search
        # reads where the user's newest N messages begin from it too.
        Index(
            "ix_messages_user_recent",
            "user_id",
            text("date DESC NULLS LAST"),
            text("id DESC"),
        ),
        # has:attachment, newest first, without walking the mail that has none.
        Index(
            "ix_messages_user_attachments",
            "user_id",
            text("date DESC NULLS LAST"),
            text("id DESC"),
            postgresql_where=text("has_attachments"),
        ),
        Index("ix_messages_folder_date", "folder_id", "date"),
        Index("ix_messages_thread", "thread_id"),
        Index("ix_messages_account_message_id", "account_id", "message_id_header"),
        Index("ix_messages_user_dedupe", "user_id", "dedupe_key"),
        # Threading looks up a batch's replies by their references on every stored batch: with
        # GIN's pending list (fastupdate) each lookup also scanned the entries not yet merged,
        # 6-9 ms a batch during a sync. The arrays are short, so direct updates cost little.
        Index(
            "ix_messages_references",
            "references",
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
        ),
        Index("ix_messages_account_in_reply_to", "account_id", "in_reply_to"),
        # Folder counts (every sidebar refresh) read only these, index-only: the live rows and
        # the unread ones, instead of every row of the folder.
        Index("ix_messages_folder_live", "folder_id", postgresql_where=text(LIVE)),
        Index("ix_messages_folder_unread", "folder_id", postgresql_where=text(UNREAD)),
        # The snoozed view and the minute job that wakes due mail read only snoozed rows.
        Index(
            "ix_messages_snoozed",
            "snoozed_until",
            postgresql_where=text("snoozed_until IS NOT NULL"),
        ),
        Index("ix_messages_search", "search_vector", postgresql_using="gin"),
        Index(
            "ix_messages_subject_trgm",
            "subject",
            postgresql_using="gin",
            postgresql_ops={"subject": "gin_trgm_ops"},
        ),
        Index(
            "ix_messages_sender_trgm",
            "sender_address",
            postgresql_using="gin",
            postgresql_ops={"sender_address": "gin_trgm_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("mail_accounts.id", ondelete="CASCADE"), nullable=False
    )
    folder_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("folders.id", ondelete="SET NULL")
    )
    thread_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("threads.id", ondelete="SET NULL")
    )
    uid: Mapped[int | None] = mapped_column(BigInteger)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    message_id_header: Mapped[str | None] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")
    )
    dedupe_key: Mapped[str | None] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    sender_name: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    sender_address: Mapped[str] = mapped_column(String(320), nullable=False, server_default="")
    to_addrs: Mapped[list[dict[str, str]]] = mapped_column(
        JSONB, nullable=False, server_default=text("'[]'::jsonb")
    )
    cc_addrs: Mapped[list[dict[str, str]]] = mapped_column(
        JSONB, nullable=False, server_default=text("'[]'::jsonb")
    )
    bcc_addrs: Mapped[list[dict[str, str]]] = mapped_column(
        JSONB, nullable=False, server_default=text("'[]'::jsonb")
    )
    reply_to: Mapped[list[dict[str, str]]] = mapped_column(
        JSONB, nullable=False, server_default=text("'[]'::jsonb")
    )
    headers: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    size: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    preview: Mapped[str] = mapped_column(String(300), nullable=False, server_default="")
    body_text: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    body_new_text: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    has_remote_images: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("false")
    )
    has_attachments: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("false")
    )
    has_calendar: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("false")
    )
    is_read: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    is_starred: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    is_answered: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    is_draft: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    keywords: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")
    )
    modseq: Mapped[int | None] = mapped_column(BigInteger)
    snoozed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    send_status: Mapped[str | None] = mapped_column(String(16))
    send_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    send_error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(16), nullable=False, server_default="simple")
    search_vector: Mapped[str | None] = mapped_column(TSVECTOR)
    parse_defects: Mapped[list[str]] = mapped_column(
        JSONB, nullable=False, server_default=text("'[]'::jsonb")
    )
    parse_error: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64))
    category_confidence: Mapped[float | None] = mapped_column(Float)
    needs_review: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("false")
    )
    priority: Mapped[int | None] = mapped_column(SmallInteger)
    priority_band: Mapped[str | None] = mapped_column(String(8))
    ai_status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class MessageSource(Base):
    """The raw RFC 5322 source, compressed: every derived field can be recomputed from it."""

    __tablename__ = "message_sources"

    message_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    compression: Mapped[str] = mapped_column(String(8), nullable=False, server_default="zlib")
    raw: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    raw_size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)


class Attachment(Base):
    """A part of a received message, or an upload waiting to be sent (``message_id`` null)."""

    __tablename__ = "attachments"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(512), nullable=False, server_default="")
    content_type: Mapped[str] = mapped_column(
        String(255), nullable=False, server_default="application/octet-stream"
    )
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content_id: Mapped[str | None] = mapped_column(String(512))
    is_inline: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    extracted_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()


class MessageChunk(Base):
    """A passage of a message's new text with its embedding, for semantic search and Ask."""

    __tablename__ = "message_chunks"
    __table_args__ = (
        UniqueConstraint("message_id", "chunk_index", name="uq_message_chunks_position"),
        Index(
            "ix_message_chunks_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_with={"m": 16, "ef_construction": 64},
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    message_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("messages.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    chunk_index: Mapped[int] = mapped_column(Integer, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIMENSIONS), nullable=False)
    model: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = created_at()


class IdempotencyKey(Base):
    """Answers to send calls by ``Idempotency-Key``, kept 24 h, so a retried call sends once."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    response: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
