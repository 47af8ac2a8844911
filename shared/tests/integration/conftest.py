"""Fixtures of the shared library's integration tests."""

import secrets

import pytest_asyncio

from tests.support.harness import KAFKA_BOOTSTRAP, create_topics


@pytest_asyncio.fixture
async def prefix() -> str:
    """Topics of the test's own."""
    prefix = f"it{secrets.token_hex(4)}"
    await create_topics(KAFKA_BOOTSTRAP, prefix)
    return prefix
