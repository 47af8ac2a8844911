"""`python -m <service> migrate | serve`: the two commands every service image runs."""

import argparse
import os

import uvicorn
from alembic import command
from alembic.config import Config


def alembic_config(package: str, database_url: str) -> Config:
    """Alembic configured from code: the migrations ship inside the service's package."""
    config = Config()
    config.set_main_option("script_location", f"{package}:migrations")
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def main(*, package: str, default_port: int) -> None:
    parser = argparse.ArgumentParser(prog=package)
    parser.add_argument("command", choices=["migrate", "serve"])
    args = parser.parse_args()
    if args.command == "migrate":
        command.upgrade(alembic_config(package, os.environ["DATABASE_URL"]), "head")
        return
    uvicorn.run(
        f"{package}.main:create_app",
        factory=True,
        host=os.environ.get("HOST", "0.0.0.0"),
        port=int(os.environ.get("PORT", default_port)),
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
    )
