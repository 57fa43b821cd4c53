"""``/api/admin``: dead-letter jobs and users (admins only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from mailmind.admin import service
from mailmind.admin.schemas import JobIds, JobList, RetryResult
from mailmind.auth import service as auth_service
from mailmind.auth.endpoints import user_read
from mailmind.auth.schemas import AdminUserList, AdminUserRead, AdminUserUpdate
from mailmind.deps import AdminAuth, ClientDep, DbSession, RuntimeDep
from mailmind.errors import ValidationFailed
from mailmind.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor

router = APIRouter(prefix="/api/admin", tags=["admin"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
JobId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/jobs", response_model=JobList)
async def list_jobs(
    admin: AdminAuth,
    session: DbSession,
    status_: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> JobList:
    after = decode_cursor(cursor, 1)
    before_id = int(after[0]) if after else None
    jobs = await service.list_jobs(session, status=status_, limit=limit, before_id=before_id)
    next_cursor = encode_cursor(jobs[-1].id) if len(jobs) == limit else None
    return JobList(items=jobs, next_cursor=next_cursor)


@router.post("/jobs/retry", response_model=RetryResult, status_code=status.HTTP_202_ACCEPTED)
async def retry_jobs(body: JobIds, admin: AdminAuth, session: DbSession) -> RetryResult:
    retried, missing = await service.retry_jobs(session, ids=body.ids)
    return RetryResult(retried=retried, not_found=missing)


@router.post("/jobs/{job_id}/retry", status_code=status.HTTP_202_ACCEPTED, response_class=Response)
async def retry_job(job_id: JobId, admin: AdminAuth, session: DbSession) -> Response:
    await service.retry_job(session, job_id=job_id)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.delete("/jobs/{job_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def discard_job(job_id: JobId, admin: AdminAuth, session: DbSession) -> Response:
    await service.discard_job(session, job_id=job_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users", response_model=AdminUserList)
async def list_users(
    admin: AdminAuth,
    session: DbSession,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AdminUserList:
    after_raw = decode_cursor(cursor, 2)
    after = None
    if after_raw:
        try:
            after = (datetime.fromisoformat(str(after_raw[0])), uuid.UUID(str(after_raw[1])))
        except ValueError as exc:
            raise ValidationFailed("VAL002", "Invalid cursor", details={"field": "cursor"}) from exc
    users, logins = await auth_service.admin_list_users(session, limit=limit, after=after)
    items = [
        AdminUserRead(**user_read(u).model_dump(), last_login_at=logins.get(u.id)) for u in users
    ]
    next_cursor = (
        encode_cursor(users[-1].created_at.isoformat(), users[-1].id)
        if len(users) == limit
        else None
    )
    return AdminUserList(items=items, next_cursor=next_cursor)


@router.patch("/users/{user_id}", response_model=AdminUserRead)
async def update_user(
    user_id: uuid.UUID,
    body: AdminUserUpdate,
    admin: AdminAuth,
    session: DbSession,
    runtime: RuntimeDep,
    client: ClientDep,
) -> AdminUserRead:
    user = await auth_service.admin_update_user(
        session,
        runtime,
        admin.user,
        client,
        user_id=user_id,
        is_active=body.is_active,
        is_admin=body.is_admin,
    )
    return AdminUserRead(**user_read(user).model_dump())


@router.post(
    "/users/{user_id}/unlock", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def unlock_user(
    user_id: uuid.UUID,
    admin: AdminAuth,
    session: DbSession,
    runtime: RuntimeDep,
    client: ClientDep,
) -> Response:
    await auth_service.admin_unlock_user(session, runtime, admin.user, client, user_id=user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
