"""The API keeps the contract its document states, on both databases.

Schemathesis sends requests generated from the gateway's merged OpenAPI document through the real platform
as a tenant's owner key: each operation's examples, the edges of its schemas (coverage), random valid and
invalid requests (fuzzing), and sequences following the links it infers between operations (stateful: an
id one answer gives, used by the next request). Every answer must be no server error and have a status, a
content type and a body the document lists for its operation — front-ends generate typed clients from it.
Once on PostgreSQL and once on SQLite files, as `make run` starts the services.
"""

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from qunyun_shared.testing import eventually
from tests.support.harness import SERVICES, Platform

pytestmark = pytest.mark.e2e

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)
PHASES = "examples,coverage,fuzzing,stateful"
# Cases per operation and phase: enough to reach every documented answer of the 160-odd operations in about
# two minutes per database on two cores. A fixed seed makes a failure reproducible; QUNYUN_CONTRACT_SEED
# (or a larger QUNYUN_CONTRACT_EXAMPLES) explores further.
EXAMPLES = os.environ.get("QUNYUN_CONTRACT_EXAMPLES", "5")
SEED = os.environ.get("QUNYUN_CONTRACT_SEED", "20261207")
SCHEMATHESIS = str(Path(sys.executable).with_name("st"))


@pytest_asyncio.fixture(scope="module")
async def sqlite_platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    """The five services on SQLite files: the default `make run` uses."""
    started = await Platform.create(tmp_path_factory.mktemp("sqlite-platform"), list(SERVICES), engine="sqlite")
    try:
        yield started
    finally:
        await started.close()


async def test_the_api_keeps_its_contract_on_postgresql(
    platform: Platform, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    await _keeps_its_contract(platform, http, tmp_path)


async def test_the_api_keeps_its_contract_on_sqlite(
    sqlite_platform: Platform, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    await _keeps_its_contract(sqlite_platform, http, tmp_path)


async def _keeps_its_contract(platform: Platform, http: httpx.AsyncClient, workdir: Path) -> None:
    tenant = await platform.new_tenant(http)
    gateway = platform.url("gateway")
    await eventually(lambda: _whole_document(http, gateway), timeout=60)
    command = [
        SCHEMATHESIS,
        "run",
        f"{gateway}/openapi.json",
        f"--header=Authorization: Bearer {tenant.api_key}",
        f"--checks={CHECKS}",
        f"--phases={PHASES}",
        f"--max-examples={EXAMPLES}",
        f"--seed={SEED}",
        "--workers=2",
        "--request-timeout=30",
        "--no-shrink",
        "--output-truncate=true",
        "--report=junit",
        f"--report-dir={workdir}",
    ]
    # In a thread, so that the platform's own event loop (its log readers, its fixtures) goes on meanwhile.
    run = await asyncio.to_thread(
        subprocess.run, command, cwd=workdir, capture_output=True, text=True, timeout=900, check=False
    )
    logs = "\n".join(f"--- {name}\n{service.log_tail(15)}" for name, service in platform.services.items())
    assert run.returncode == 0, f"{run.stdout[-30000:]}\n{run.stderr[-3000:]}\n{logs}"


async def _whole_document(http: httpx.AsyncClient, gateway: str) -> None:
    """The merged document names every service's operations (one slow to answer is asked again later)."""
    document = (await http.get(f"{gateway}/openapi.json")).json()
    assert "Not shown" not in document["info"].get("description", ""), document["info"]
