"""The operators of a query as SQL conditions on ``messages``: applied before any ranking, so a
result list is always the best of the mail the filters allow (PRODUCT_SPEC §2.6)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    cast,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)

from mailmind.models import Folder, MailAccount, Message, MessageTag
from mailmind.search.query import Operator, SearchQuery
from mailmind.tag.repository import subtree_ids

HIDDEN_ROLES = ("spam", "trash")
ROLES = frozenset({"inbox", "sent", "drafts", "archive", "trash", "spam"})


@dataclass(frozen=True)
class Scope:
    """Everything that narrows a search besides its text: the owner, the operators and the
    API's own filters (``date_from``/``date_to``; Ask's ``filters``)."""

    user_id: uuid.UUID
    operators: tuple[Operator, ...] = ()
    date_from: datetime | None = None  # inclusive
    date_to: datetime | None = None  # exclusive
    account_ids: tuple[uuid.UUID, ...] = ()
    folder_id: uuid.UUID | None = None
    sender: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    extra: list[Any] = field(default_factory=list)

    @classmethod
    def of(cls, user_id: uuid.UUID, query: SearchQuery, **kw: Any) -> Scope:
        return cls(user_id=user_id, operators=tuple(query.operators), **kw)


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _folders(user_id: uuid.UUID) -> Any:
    return select(Folder.id).where(Folder.user_id == user_id)


def _sent_date() -> ColumnElement[Any]:
    return func.coalesce(Message.date, Message.received_at)


def _condition(user_id: uuid.UUID, op: Operator) -> ColumnElement[bool]:
    key, value = op.key, op.value
    if key == "from":
        pattern = _like(value)
        return or_(Message.sender_address.ilike(pattern), Message.sender_name.ilike(pattern))
    if key == "to":
        pattern = _like(value)
        return or_(
            cast(Message.to_addrs, Text).ilike(pattern),
            cast(Message.cc_addrs, Text).ilike(pattern),
            cast(Message.bcc_addrs, Text).ilike(pattern),
        )
    if key == "subject":
        return Message.subject.ilike(_like(value))
    if key == "has":
        # Plain, not IS TRUE: the partial index of mail with attachments is proved to apply.
        return Message.has_attachments == true()
    if key == "is":
        return {
            "unread": Message.is_read.is_(False),
            "read": Message.is_read.is_(True),
            "starred": Message.is_starred.is_(True),
            "snoozed": Message.snoozed_until.is_not(None),
        }[value]
    if key == "before":
        assert op.start is not None
        return _sent_date() < op.start
    if key == "after":
        assert op.start is not None
        return _sent_date() >= op.start
    if key == "category":
        return Message.category == value
    if key == "tag":
        return exists(
            select(MessageTag.message_id).where(
                MessageTag.message_id == Message.id, subtree_ids(user_id, value)
            )
        )
    if key == "in":
        lowered = value.lower()
        folders = _folders(user_id)
        if lowered in ROLES:
            folders = folders.where(Folder.role == lowered)
        else:
            folders = folders.where(
                or_(func.lower(Folder.name) == lowered, func.lower(Folder.path) == lowered)
            )
        return Message.folder_id.in_(folders)
    if key == "priority":
        if op.bounds is not None:
            return Message.priority.between(*op.bounds)
        return Message.priority_band == value
    if key == "account":
        pattern = _like(value)
        accounts = select(MailAccount.id).where(
            MailAccount.user_id == user_id,
            or_(MailAccount.email.ilike(pattern), MailAccount.display_name.ilike(pattern)),
        )
        return Message.account_id.in_(accounts)
    raise AssertionError(key)


def conditions(scope: Scope) -> list[ColumnElement[bool]]:
    """The WHERE clause of a search over ``messages``: always the owner first."""
    user_id = scope.user_id
    where: list[ColumnElement[bool]] = [Message.user_id == user_id, Message.deleted_at.is_(None)]
    names_folder = scope.folder_id is not None or any(
        op.key == "in" and not op.negated for op in scope.operators
    )
    if not names_folder:
        # Spam and Trash are searched only when asked for (in:spam, in:trash).
        hidden = _folders(user_id).where(Folder.role.in_(HIDDEN_ROLES))
        where.append(or_(Message.folder_id.is_(None), Message.folder_id.not_in(hidden)))
    for op in scope.operators:
        condition = _condition(user_id, op)
        # A negated test on a NULL column (no category, no priority) must keep the row.
        where.append(not_(func.coalesce(condition, false())) if op.negated else condition)
    if scope.date_from is not None:
        where.append(_sent_date() >= scope.date_from)
    if scope.date_to is not None:
        where.append(_sent_date() < scope.date_to)
    if scope.account_ids:
        where.append(Message.account_id.in_(scope.account_ids))
    if scope.folder_id is not None:
        where.append(Message.folder_id == scope.folder_id)
    if scope.sender:
        pattern = _like(scope.sender)
        where.append(or_(Message.sender_address.ilike(pattern), Message.sender_name.ilike(pattern)))
    if scope.category:
        where.append(Message.category == scope.category)
    if scope.tags:
        where.append(
            and_(
                *(
                    exists(
                        select(MessageTag.message_id).where(
                            MessageTag.message_id == Message.id, subtree_ids(user_id, tag)
                        )
                    )
                    for tag in scope.tags
                )
            )
        )
    where.extend(scope.extra)
    return where
