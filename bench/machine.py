"""What the numbers were measured on: they mean little without it."""

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from tests.support.harness import POSTGRES_ADMIN_DSN, ROOT


def kafka_version() -> str:
    """The broker's version, from the jars of the distribution scripts/infra/kafka.sh runs."""
    for jar in sorted((ROOT / ".cache/kafka/lib").glob("kafka-clients-*.jar")):
        return jar.stem.removeprefix("kafka-clients-")
    return "unknown"


async def postgres_version() -> str:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        server_version: str = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    return server_version.split()[0] if server_version else "unknown"


async def describe() -> dict[str, object]:
    """Cores, memory, Python, Kafka and PostgreSQL versions, and when."""
    postgres = await postgres_version()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "memory_gib": round(_memory_bytes() / 2**30, 1),
        "cpu": _cpu_model(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "kafka": kafka_version(),
        "postgres": postgres,
    }


def _memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"
