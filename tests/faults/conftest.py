"""The fault tests run the platform on a broker and a database cluster of their own (see infrastructure.py):
what they stop and kill is theirs alone."""

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.faults.infrastructure import FaultInfrastructure
from tests.support.harness import SERVICES, Platform


@pytest.fixture(scope="session")
def fault_infrastructure() -> Iterator[FaultInfrastructure]:
    infrastructure = FaultInfrastructure()
    infrastructure.kafka("start")
    infrastructure.postgres("start")
    try:
        yield infrastructure
    finally:
        infrastructure.kafka("stop")
        infrastructure.postgres("stop")


@pytest_asyncio.fixture(scope="session")
async def platform(
    tmp_path_factory: pytest.TempPathFactory, fault_infrastructure: FaultInfrastructure
) -> AsyncIterator[Platform]:
    """All five services as real processes, on the fault tests' own Kafka and PostgreSQL."""
    started = await Platform.create(
        tmp_path_factory.mktemp("fault-platform"),
        list(SERVICES),
        kafka=fault_infrastructure.kafka_bootstrap,
        postgres=fault_infrastructure.postgres_admin_dsn,
    )
    try:
        yield started
    finally:
        await started.close()
