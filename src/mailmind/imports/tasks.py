"""Import jobs."""

from __future__ import annotations

import uuid
from typing import Any

from mailmind.imports import service
from mailmind.jobs.queue import task


@task("imports.run")
async def run_import(runtime: Any, *, import_id: str) -> None:
    """Read an uploaded mail file into the user's local account, resuming after the last
    committed batch when a previous run stopped."""
    await service.run_import(runtime, uuid.UUID(import_id))
