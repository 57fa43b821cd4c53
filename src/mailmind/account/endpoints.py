"""``/api/accounts``: mail accounts, server autodetection, OAuth connection and manual sync."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from mailmind.account import service
from mailmind.account.schemas import (
    AccountCreate,
    AccountDeleted,
    AccountList,
    AccountRead,
    AccountUpdate,
    AutodetectRead,
    OAuthStartRead,
    ServerSettingsRead,
    SyncQueued,
    SyncRequest,
)
from mailmind.deps import CurrentAuth, DbSession, RuntimeDep
from mailmind.errors import AuthError
from mailmind.models import MailAccount
from mailmind.runtime import Runtime

router = APIRouter(prefix="/api/accounts", tags=["accounts"])


async def owned_account(
    account_id: Annotated[uuid.UUID, Path()], session: DbSession, auth: CurrentAuth
) -> MailAccount:
    """The signed-in user's account ``account_id``; RES001 for anyone else's."""
    return await service.get_owned_account(session, auth.user, account_id)


OwnedAccount = Annotated[MailAccount, Depends(owned_account)]


async def _read(session: DbSession, runtime: Runtime, account: MailAccount) -> AccountRead:
    return (await service.read_accounts(session, runtime, [account]))[0]


@router.get("", response_model=AccountList, summary="The signed-in user's mail accounts")
async def list_accounts(session: DbSession, runtime: RuntimeDep, auth: CurrentAuth) -> AccountList:
    accounts = await service.list_accounts(session, auth.user)
    return AccountList(items=await service.read_accounts(session, runtime, accounts))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AccountRead,
    summary="Add an IMAP/SMTP account (both logins are tested first)",
)
async def create_account(
    body: AccountCreate, session: DbSession, runtime: RuntimeDep, auth: CurrentAuth
) -> AccountRead:
    account = await service.create_account(session, runtime, auth.user, body)
    return await _read(session, runtime, account)


@router.get(
    "/autodetect",
    response_model=AutodetectRead,
    summary="Suggested IMAP and SMTP servers for an address",
)
async def autodetect(
    auth: CurrentAuth, email: Annotated[str, Query(min_length=1, max_length=320)]
) -> AutodetectRead:
    found = await service.detect_servers(email)
    return AutodetectRead(
        imap=ServerSettingsRead(
            host=found.imap.host, port=found.imap.port, security=found.imap.security
        ),
        smtp=ServerSettingsRead(
            host=found.smtp.host, port=found.smtp.port, security=found.smtp.security
        ),
        kind_hint=found.kind_hint,
        source=found.source,
        provider=found.provider,
    )


@router.post(
    "/oauth/{provider}",
    response_model=OAuthStartRead,
    summary="Start connecting a Gmail (google) or Microsoft 365 (microsoft) mailbox",
)
async def start_oauth(
    provider: Annotated[str, Path(max_length=32)], runtime: RuntimeDep, auth: CurrentAuth
) -> OAuthStartRead:
    """Open ``authorization_url`` in the browser; the provider sends it back to
    ``/api/auth/callback/{provider}``, which saves the account and goes on to the accounts page."""
    if provider not in service.OAUTH_KIND_OF_PROVIDER:
        raise AuthError("AUTH008", f"Unknown provider {provider!r}")
    url = await service.start_oauth_connect(runtime, auth.user, provider)
    return OAuthStartRead(authorization_url=url)


@router.get("/{account_id}", response_model=AccountRead, summary="One mail account")
async def get_account(
    session: DbSession, runtime: RuntimeDep, account: OwnedAccount
) -> AccountRead:
    return await _read(session, runtime, account)


@router.put(
    "/{account_id}",
    response_model=AccountRead,
    summary="Change name, servers, password, AI, sync window or excluded folders",
)
async def update_account(
    body: AccountUpdate, session: DbSession, runtime: RuntimeDep, account: OwnedAccount
) -> AccountRead:
    account = await service.update_account(session, runtime, account, body)
    return await _read(session, runtime, account)


@router.delete(
    "/{account_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AccountDeleted,
    summary="Remove the account and its local data (nothing on the server)",
)
async def delete_account(session: DbSession, account: OwnedAccount) -> AccountDeleted:
    await service.delete_account(session, account)
    return AccountDeleted(
        id=account.id,
        sync_state="disabled",
        message="The account is disabled and its local data is being deleted.",
    )


@router.post(
    "/{account_id}/sync",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SyncQueued,
    summary="Sync now (at most once a minute per account)",
)
async def sync_account(
    session: DbSession,
    runtime: RuntimeDep,
    account: OwnedAccount,
    body: SyncRequest | None = None,
) -> SyncQueued:
    job_id = await service.request_sync(
        session, runtime, account, full=body.full if body is not None else False
    )
    return SyncQueued(job_id=job_id)
