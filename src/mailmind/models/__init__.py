"""All ORM models; importing this package registers every table on ``Base.metadata``."""

from mailmind.models.account import Folder, MailAccount, MailImport, SyncLease
from mailmind.models.ai import AIDecision, AIFeedback, AIResult
from mailmind.models.base import Base
from mailmind.models.job import JobError
from mailmind.models.message import (
    Attachment,
    IdempotencyKey,
    Message,
    MessageChunk,
    MessageSource,
    Thread,
)
from mailmind.models.notification import Notification
from mailmind.models.rule import Reminder, Rule, RuleHistory
from mailmind.models.tag import MessageTag, Tag
from mailmind.models.user import (
    AuthSession,
    OAuthIdentity,
    RefreshToken,
    SecurityEvent,
    User,
    UserToken,
)

__all__ = [
    "AIDecision",
    "AIFeedback",
    "AIResult",
    "Attachment",
    "AuthSession",
    "Base",
    "Folder",
    "IdempotencyKey",
    "JobError",
    "MailAccount",
    "MailImport",
    "Message",
    "MessageChunk",
    "MessageSource",
    "MessageTag",
    "Notification",
    "OAuthIdentity",
    "RefreshToken",
    "Reminder",
    "Rule",
    "RuleHistory",
    "SecurityEvent",
    "SyncLease",
    "Tag",
    "Thread",
    "User",
    "UserToken",
]
