"""Mail with a real full-text vector (as ingest writes it) and real embeddings (the local model),
for the search tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.integrations.ai.embeddings import chunk_text, get_embedder
from mailmind.kit.text import search_config
from mailmind.message.ingest import person_terms, search_vector
from mailmind.message.parse import Address
from mailmind.models import Folder, MailAccount, Message, MessageChunk
from tests.api.conftest import Box, make_box
from tests.factories import create_message


async def add_mail(
    session: AsyncSession,
    account: MailAccount,
    folder: Folder | None,
    *,
    subject: str,
    body: str,
    sender: tuple[str, str] = ("Ada Lovelace", "ada@example.com"),
    to: Sequence[tuple[str, str]] = (("Bob", "bob@example.com"),),
    files: Sequence[str] = (),
    **kw: Any,
) -> Message:
    """A message indexed exactly as ``ingest_batch`` indexes one."""
    config = search_config(None, body)
    people = " ".join(person_terms(Address(n, a)) for n, a in [sender, *to])
    return await create_message(
        session,
        account,
        folder,
        subject=subject,
        body_text=body,
        sender=sender,
        to=to,
        language=config,
        has_attachments=bool(files) or kw.pop("has_attachments", False),
        search_vector=search_vector(
            config, subject=subject, people=people, body=body, files=" ".join(files)
        ),
        **kw,
    )


async def embed(session: AsyncSession, runtime: Any, messages: Sequence[Message]) -> None:
    """Chunk rows with embeddings of the local model, as the pipeline's embed step stores."""
    embedder = get_embedder(runtime)
    rows = []
    for message in messages:
        chunks = chunk_text(f"{message.subject}\n\n{message.body_new_text}")
        vectors = await embedder.embed(chunks)
        rows += [
            {
                "message_id": message.id,
                "user_id": message.user_id,
                "chunk_index": i,
                "text": chunk,
                "embedding": vector,
                "model": embedder.model_name,
            }
            for i, (chunk, vector) in enumerate(zip(chunks, vectors, strict=True))
        ]
    if rows:
        await session.execute(insert(MessageChunk), rows)


@pytest.fixture
async def box(runtime: Any, client: Any) -> Box:
    """A signed-in user with an IMAP account and inbox, sent, trash and spam folders."""
    return await make_box(runtime, client)
