"""Least privilege on the real PostgreSQL: each service's database belongs to a role of its own that can
reach nothing else, as the harness sets them up for every test session (and compose and Kubernetes do)."""

import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from tests.support.harness import POSTGRES_ADMIN_DSN, create_database, drop_database

pytestmark = pytest.mark.integration


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest_asyncio.fixture
async def two_services() -> AsyncIterator[tuple[str, str, str, str]]:
    """(name, URL) of two services' databases, as `Platform.add` creates them, the second holding a row."""
    prefix = f"it{secrets.token_hex(4)}"
    member, campaign = f"{prefix}_member_svc", f"{prefix}_campaign_svc"
    member_url, campaign_url = await create_database(member), await create_database(campaign)
    try:
        connection = await asyncpg.connect(plain(campaign_url))
        try:
            await connection.execute("CREATE TABLE orders (id int PRIMARY KEY, amount_fen bigint)")
            await connection.execute("INSERT INTO orders VALUES (1, 9900)")
        finally:
            await connection.close()
        yield member, member_url, campaign, campaign_url
    finally:
        await drop_database(member)
        await drop_database(campaign)


async def test_a_service_role_cannot_connect_to_another_services_database(
    two_services: tuple[str, str, str, str],
) -> None:
    _, member_url, campaign, _ = two_services
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for database"):
        await asyncpg.connect(plain(member_url).rsplit("/", 1)[0] + f"/{campaign}")


async def test_a_service_role_cannot_read_another_services_tables_by_taking_its_role(
    two_services: tuple[str, str, str, str],
) -> None:
    member, member_url, campaign, _ = two_services
    connection = await asyncpg.connect(plain(member_url))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute(f'SET ROLE "{campaign}"')
        assert await connection.fetchval("SELECT current_database()") == member
    finally:
        await connection.close()


async def test_a_service_role_owns_its_database_and_holds_no_other_power(
    two_services: tuple[str, str, str, str],
) -> None:
    member, member_url, _, _ = two_services
    connection = await asyncpg.connect(plain(member_url))
    try:
        await connection.execute("CREATE TABLE members (id int PRIMARY KEY)")  # it runs its own migrations
        role = await connection.fetchrow(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolreplication,"
            " (SELECT count(*) FROM pg_auth_members WHERE member = pg_roles.oid) AS memberships"
            " FROM pg_roles WHERE rolname = current_user"
        )
        owner = await connection.fetchval(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        )
    finally:
        await connection.close()
    assert dict(role) == {
        "rolsuper": False,
        "rolcreatedb": False,
        "rolcreaterole": False,
        "rolbypassrls": False,
        "rolreplication": False,
        "memberships": 0,
    }
    assert owner == member


async def test_dropping_a_database_drops_its_role() -> None:
    name = f"it_{secrets.token_hex(4)}"
    url = await create_database(name)
    connection = await asyncpg.connect(plain(url))  # left open: the drop ends it
    await drop_database(name)
    assert connection.is_closed() or not await _alive(connection)
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        assert await admin.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", name) == 0
        assert await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name) == 0
    finally:
        await admin.close()


async def _alive(connection: asyncpg.Connection) -> bool:
    try:
        await connection.fetchval("SELECT 1")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError):
        return False
    return True
