"""Each service's Alembic migrations build exactly the schema its models describe."""

import importlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from qunyun_shared.cli import alembic_config
from tests.support.harness import SERVICES

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("package", [spec.package for spec in SERVICES.values()])
def test_migrations_match_the_models(package: str, tmp_path: Path) -> None:
    database = tmp_path / f"{package}.db"
    command.upgrade(alembic_config(package, f"sqlite+aiosqlite:///{database}"), "head")
    metadata = importlib.import_module(f"{package}.models").Base.metadata
    with sa.create_engine(f"sqlite:///{database}").connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
