"""``/api/imports``: upload an mbox, .eml or zip of .eml files; follow its progress."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from mailmind.deps import CurrentAuth, DbSession, RuntimeDep
from mailmind.errors import ValidationFailed
from mailmind.imports import service
from mailmind.imports.schemas import ImportCreated, ImportList, ImportRead
from mailmind.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from mailmind.models import MailImport

router = APIRouter(prefix="/api/imports", tags=["imports"])

FILE_FIELD = "file"
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    "properties": {
                        FILE_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "An mbox, an .eml or a zip of .eml files",
                        }
                    },
                }
            }
        },
    }
}


class MultipartFile:
    """One file field of a ``multipart/form-data`` body, streamed as the body arrives.

    Starlette's form parser spools every file to a temporary file first; an import of up to
    ``IMPORT_MAX_BYTES`` goes straight to its place in the data directory instead. Other fields
    are ignored.
    """

    def __init__(self, request: Request, field: str) -> None:
        self.request = request
        self.field = field
        self.filename: str | None = None
        self._found = False
        self._in_file = False
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._pending: list[bytes] = []

    def _on_part_begin(self) -> None:
        self._disposition = b""
        self._in_file = False

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == self.field and b"filename" in options and not self._found:
            self._found = self._in_file = True
            self.filename = options[b"filename"].decode("utf-8", "replace")

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(data[start:end])

    def _on_part_end(self) -> None:
        self._in_file = False

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes; VAL002 for a body that is not multipart, VAL001 without the field."""
        content_type, params = parse_options_header(self.request.headers.get("content-type"))
        boundary = params.get(b"boundary")
        if content_type != b"multipart/form-data" or not boundary:
            raise ValidationFailed(
                "VAL002", "Send the file as multipart/form-data", details={"field": self.field}
            )
        try:
            parser = MultipartParser(
                boundary,
                {
                    "on_part_begin": self._on_part_begin,
                    "on_header_field": self._on_header_field,
                    "on_header_value": self._on_header_value,
                    "on_header_end": self._on_header_end,
                    "on_headers_finished": self._on_headers_finished,
                    "on_part_data": self._on_part_data,
                    "on_part_end": self._on_part_end,
                },
            )
            async for body in self.request.stream():
                parser.write(body)
                for piece in self._pending:
                    yield piece
                self._pending.clear()
            parser.finalize()
        except FormParserError as exc:
            raise ValidationFailed("VAL002", "Malformed multipart body") from exc
        if not self._found:
            raise ValidationFailed(
                "VAL001", "Required field missing", details={"field": self.field}
            )


def import_read(row: MailImport) -> ImportRead:
    return ImportRead(
        id=row.id,
        status=row.status,
        filename=row.filename,
        total=row.total,
        imported=row.imported,
        duplicates=row.duplicates,
        failed=row.failed,
        error=row.error,
        created_at=row.created_at,
    )


async def owned_import(
    import_id: Annotated[uuid.UUID, Path()], auth: CurrentAuth, session: DbSession
) -> MailImport:
    return await service.get_import(session, auth.user.id, import_id)


OwnedImport = Annotated[MailImport, Depends(owned_import)]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ImportCreated,
    openapi_extra=_UPLOAD_BODY,
    summary="Upload an mbox, .eml or zip of .eml files into the local account",
)
async def create_import(
    request: Request, auth: CurrentAuth, session: DbSession, runtime: RuntimeDep
) -> ImportCreated:
    upload = MultipartFile(request, FILE_FIELD)
    stored = await service.store_upload(runtime, upload.chunks())
    try:
        row = await service.create_import(
            session, user_id=auth.user.id, filename=upload.filename or "", import_id=stored.id
        )
    except BaseException:
        stored.path.unlink(missing_ok=True)
        raise
    return ImportCreated(id=row.id)


@router.get("", response_model=ImportList)
async def list_imports(
    auth: CurrentAuth,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ImportList:
    before = None
    values = decode_cursor(cursor, 2)
    if values:
        try:
            before = (datetime.fromisoformat(str(values[0])), uuid.UUID(str(values[1])))
        except ValueError as exc:
            raise ValidationFailed("VAL002", "Invalid cursor", details={"field": "cursor"}) from exc
    rows = await service.list_imports(session, auth.user.id, limit=limit, before=before)
    next_cursor = (
        encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id) if len(rows) == limit else None
    )
    return ImportList(items=[import_read(row) for row in rows], next_cursor=next_cursor)


@router.get("/{import_id}", response_model=ImportRead)
async def get_import(row: OwnedImport) -> ImportRead:
    return import_read(row)
