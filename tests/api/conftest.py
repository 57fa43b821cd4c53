"""A signed-in user with an IMAP account and the usual folders, for the mail API tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from mailmind.models import Folder, MailAccount
from tests.conftest import bearer, create_user, login
from tests.factories import create_account, create_folder


@dataclass
class Box:
    user: Any
    headers: dict[str, str]
    account: MailAccount
    folders: dict[str, Folder]

    @property
    def inbox(self) -> Folder:
        return self.folders["inbox"]


async def make_box(runtime: Any, client: Any, **account: Any) -> Box:
    user = await create_user(runtime)
    token = (await login(client, user.email))["access_token"]
    async with runtime.db.session() as session:
        mail_account = await create_account(session, user, **account)
        folders = {
            role: await create_folder(session, mail_account, role=role)
            for role in ("inbox", "sent", "trash", "spam")
        }
    return Box(user=user, headers=bearer(token), account=mail_account, folders=folders)


@pytest.fixture
async def box(runtime: Any, client: Any) -> Box:
    return await make_box(runtime, client)


@pytest.fixture
async def other(runtime: Any, client: Any) -> Box:
    return await make_box(runtime, client)


async def queued_jobs(runtime: Any, task: str = "message.write_back") -> list[dict[str, Any]]:
    """The waiting jobs of ``task``: ``{"args": …, "lock": …}`` in the order they were queued."""
    async with runtime.db.session() as session:
        rows = await session.execute(
            text(
                "SELECT args, lock FROM procrastinate_jobs WHERE task_name = :task "
                "AND status = 'todo' ORDER BY id"
            ),
            {"task": task},
        )
        return [{"args": args, "lock": lock} for args, lock in rows]
