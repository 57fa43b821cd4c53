"""``mailmind import PATH [--user EMAIL]`` as a real subprocess against the test database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from mailmind.models import MailImport, Message
from mailmind.runtime import Runtime
from tests.conftest import create_user
from tests.imports.mailfiles import make_message, to_bytes, write_mbox
from tests.live import cli_env, describe, run_cli
from tests.services import RedisServer


def env_for(tmp_path: Path, pg_url: str, redis_server: RedisServer) -> dict[str, str]:
    return cli_env(
        tmp_path / "data",
        DATABASE_URL=pg_url,
        REDIS_URL=redis_server.url,
        REDIS_PASSWORD=redis_server.password,
    )


async def count_messages(runtime: Runtime) -> int:
    async with runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def test_import_into_the_only_user_then_again_as_duplicates(
    runtime: Runtime, pg_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    user = await create_user(runtime)
    mbox = write_mbox(tmp_path / "Travel.mbox", [to_bytes(make_message(i)) for i in range(40)])
    env = env_for(tmp_path, pg_url, redis_server)

    first = run_cli("import", str(mbox), env=env)
    assert first.returncode == 0, describe(first)
    assert "imported 40, duplicates 0, failed 0 of 40 messages from Travel.mbox" in first.stdout
    assert "40/40: 40 imported" in first.stderr

    second = run_cli("import", str(mbox), "--user", user.email.upper(), env=env)
    assert second.returncode == 0, describe(second)
    assert "imported 0, duplicates 40, failed 0 of 40" in second.stdout
    assert mbox.exists()  # the user's own file is never deleted
    assert await count_messages(runtime) == 40
    async with runtime.db.session() as session:
        rows = list(await session.scalars(select(MailImport)))
    assert {(r.user_id, r.status) for r in rows} == {(user.id, "completed")}


async def test_the_user_must_be_named_when_there_are_several(
    runtime: Runtime, pg_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    await create_user(runtime)
    await create_user(runtime)
    mbox = write_mbox(tmp_path / "a.mbox", [to_bytes(make_message(1))])
    env = env_for(tmp_path, pg_url, redis_server)
    several = run_cli("import", str(mbox), env=env)
    assert several.returncode == 1, describe(several)
    assert "VAL001" in several.stderr and "--user" in several.stderr
    unknown = run_cli("import", str(mbox), "--user", "nobody@example.com", env=env)
    assert unknown.returncode == 1, describe(unknown)
    assert "RES001" in unknown.stderr
    text = tmp_path / "notes.mbox"
    text.write_text("not mail at all\n")
    unsupported = run_cli("import", str(text), "--user", "nobody@example.com", env=env)
    assert unsupported.returncode == 1, describe(unsupported)
    assert "AI006" in unsupported.stderr
    assert await count_messages(runtime) == 0
