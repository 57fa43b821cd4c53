"""Registration and the password policy (PRODUCT_SPEC §2.1)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mailmind.auth.passwords import password_problem
from mailmind.models import User
from tests.conftest import PASSWORD, assert_error


async def register(client, email, password=PASSWORD, **extra):
    return await client.post(
        "/api/auth/register", json={"email": email, "password": password, "full_name": "A", **extra}
    )


async def users(runtime) -> list[User]:
    async with runtime.db.session() as session:
        return list((await session.execute(select(User).order_by(User.created_at))).scalars())


async def test_first_user_becomes_admin_and_later_ones_do_not(client, runtime):
    assert (await register(client, "first@example.com")).status_code == 202
    assert (await register(client, "second@example.com")).status_code == 202
    stored = await users(runtime)
    assert [(u.email, u.is_admin) for u in stored] == [
        ("first@example.com", True),
        ("second@example.com", False),
    ]


async def test_existing_address_gets_the_same_answer(client, runtime):
    first = await register(client, "Same@Example.com")
    again = await register(client, "same@example.com", password="another-long-passphrase-77")
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert len(await users(runtime)) == 1


async def test_registration_closed_after_first_user_without_allow_registration(settings, runtime):
    from mailmind.app import create_app
    from tests.conftest import make_client

    closed = settings.model_copy(update={"allow_registration": False})
    runtime_closed = type(runtime)(
        settings=closed, db=runtime.db, store=runtime.store, secrets=runtime.secrets
    )
    async with make_client(create_app(closed, runtime=runtime_closed)) as client:
        assert (await register(client, "owner@example.com")).status_code == 202
        assert_error(await register(client, "stranger@example.com"), 403, "AUTH004")
    assert [u.email for u in await users(runtime)] == ["owner@example.com"]


async def test_invalid_address_is_val004(client):
    assert_error(await register(client, "not-an-address"), 400, "VAL004")


@pytest.mark.parametrize(
    "password",
    [
        "password1",  # on the common list
        "qwertzuiop",  # German keyboard walk, on the bundled extra list
        "abcdefghijkl",  # sequence
        "aaaaaaaaaaaa",  # repetition
        "1q2w3e4r5t",  # keyboard pattern
        "short",  # too short
        "x" * 129,  # too long
    ],
)
async def test_weak_passwords_are_val005(client, password):
    error = assert_error(
        await register(client, "weak@example.com", password=password), 400, "VAL005"
    )
    assert error["details"]["field"] == "password"


async def test_password_containing_the_local_part_is_refused(client):
    response = await register(client, "margarethe@example.com", password="margarethe-garden-77")
    assert_error(response, 400, "VAL005")


def test_passphrases_and_random_passwords_pass_without_class_rules():
    assert password_problem("correct horse battery staple") is None
    assert password_problem("xK9#mQ2vL8pW") is None
    assert password_problem("lanterne fenêtre 42 nuit") is None


async def test_terms_must_be_accepted(client):
    assert_error(await register(client, "t@example.com", accept_terms=False), 400, "VAL003")
