"""A Kafka broker and a PostgreSQL cluster of the fault tests' own, started, stopped, killed and made to
refuse connections through the project's own scripts, so that the faults touch nothing else that runs."""

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.harness import ROOT

KAFKA_PORT, KAFKA_CONTROLLER_PORT, POSTGRES_PORT = 19092, 19093, 55433


@dataclass(frozen=True)
class FaultInfrastructure:
    kafka_dir: Path = ROOT / ".cache/kafka-faults"
    postgres_dir: Path = Path("/var/tmp/qunyun-pg-faults")

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{KAFKA_PORT}"

    @property
    def postgres_admin_dsn(self) -> str:
        return f"postgresql://qunyun:qunyun@127.0.0.1:{POSTGRES_PORT}/postgres"

    def kafka(self, action: str) -> None:
        """`start`, `stop` (controlled shutdown) or `kill` (SIGKILL) the broker."""
        self._run("kafka.sh", action, QUNYUN_KAFKA_DIR=str(self.kafka_dir), KAFKA_PORT=str(KAFKA_PORT))

    def postgres(self, action: str, *arguments: str) -> None:
        """`start` or `stop` the cluster, or run `sql STATEMENT` on it as its superuser."""
        self._run("postgres.sh", action, *arguments, QUNYUN_PG_DIR=str(self.postgres_dir))

    def refuse_connections(self, database: str) -> None:
        """The database takes no new connection and loses those it has: "too many connections"."""
        self.postgres("sql", f'ALTER DATABASE "{database}" CONNECTION LIMIT 0')
        self.postgres("sql", f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'")

    def accept_connections(self, database: str) -> None:
        self.postgres("sql", f'ALTER DATABASE "{database}" CONNECTION LIMIT -1')

    def _run(self, script: str, *arguments: str, **env: str) -> None:
        environment = {
            **os.environ,
            "KAFKA_CONTROLLER_PORT": str(KAFKA_CONTROLLER_PORT),
            "QUNYUN_PG_PORT": str(POSTGRES_PORT),
            **env,
        }
        subprocess.run(
            [str(ROOT / "scripts/infra" / script), *arguments],
            env=environment,
            check=True,
            capture_output=True,
            timeout=180,
        )
