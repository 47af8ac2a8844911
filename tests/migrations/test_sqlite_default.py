"""The embedded SQLite default of `make run`: every service's migrations run on a fresh file, each server
default they leave can be evaluated by SQLite, and routes relying on them work on the migrated file."""

import asyncio
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.db import MESSAGING
from member_svc.tags import api as tags_api
from member_svc.tags.schemas import TagRuleBody
from qunyun_shared.cli import alembic_config
from qunyun_shared.db import create_engine
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import routes_client
from tests.support.harness import SERVICES

pytestmark = pytest.mark.unit

OWNER = Identity(tenant_id="tenant-a", principal="owner", roles=("owner",), permissions=frozenset({"*"}))


def migrated(package: str, directory: Path) -> str:
    """A fresh SQLite file migrated to head as `make run` does it (scripts/run.sh): its URL."""
    url = f"sqlite+aiosqlite:///{directory / f'{package}.db'}"
    command.upgrade(alembic_config(package, url), "head")
    return url


@pytest.mark.parametrize("package", [spec.package for spec in SERVICES.values()])
def test_every_server_default_the_migrations_leave_is_one_sqlite_can_evaluate(package: str, tmp_path: Path) -> None:
    migrated(package, tmp_path)
    with sqlite3.connect(tmp_path / f"{package}.db") as database:
        tables = [name for (name,) in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        defaults = [
            (table, column, default)
            for table in tables
            for _, column, _, _, default, _ in database.execute(f'PRAGMA table_info("{table}")')
            if default is not None
        ]
        unusable = []
        for table, column, default in defaults:
            try:
                database.execute(f"SELECT {default}")
            except sqlite3.OperationalError as error:
                unusable.append(f"{table}.{column} DEFAULT {default}: {error}")
    assert defaults, "no server defaults found: the check reads nothing"
    assert unusable == []


async def test_a_tag_rule_with_the_documented_example_is_created_on_the_migrated_sqlite_file(tmp_path: Path) -> None:
    url = await asyncio.to_thread(migrated, "member_svc", tmp_path)
    example = {
        "tag": "上海复购",
        "conditions": TagRuleBody.model_json_schema()["properties"]["conditions"]["examples"][0],
    }
    engine = create_engine(url)
    try:
        async with AsyncSession(engine) as session:
            outbox = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")
            async with routes_client(session, [tags_api.router], lambda: OWNER, outbox) as http:
                created = await http.post("/tags/rules", json=example)
                listed = await http.get("/tags/rules")
            await session.commit()
    finally:
        await engine.dispose()

    assert created.status_code == 201, created.text
    assert [rule["tag"] for rule in listed.json()] == ["上海复购"]
