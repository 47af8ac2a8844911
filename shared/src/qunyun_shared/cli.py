"""`python -m <service> migrate | serve`: the two commands every service image runs."""

import argparse
import sys
from collections.abc import Callable

import uvicorn
from alembic import command
from alembic.config import Config

from qunyun_shared import supervision
from qunyun_shared.settings import ServiceSettings


def alembic_config(package: str, database_url: str) -> Config:
    """Alembic configured from code: the migrations ship inside the service's package."""
    config = Config()
    config.set_main_option("script_location", f"{package}:migrations")
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def main(*, package: str, settings: Callable[[], ServiceSettings]) -> None:
    parser = argparse.ArgumentParser(prog=package)
    parser.add_argument("command", choices=["migrate", "serve"])
    args = parser.parse_args()
    configured = settings()  # validated before anything starts: a bad setting fails here, loudly
    if args.command == "migrate":
        command.upgrade(alembic_config(package, configured.database_url), "head")
        return
    uvicorn.run(
        f"{package}.main:create_app",
        factory=True,
        host=configured.host,
        port=configured.port,
        workers=configured.workers,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
    )
    if supervision.gave_up():
        sys.exit(70)  # EX_SOFTWARE: a background loop kept crashing; the orchestrator starts a new process
