"""member-svc's own background work: importing members."""

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from member_svc.config import Settings
from member_svc.imports import service as imports
from member_svc.imports.models import ImportJob
from member_svc.personal_data.cipher import PersonalDataCipher
from qunyun_shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)


class _LeaseLost(Exception):
    """Another worker took the job over; this worker's chunk must not commit."""


async def import_members(
    *, runtime: ServiceRuntime[Settings], cipher: PersonalDataCipher, waiting: asyncio.Event, poll_seconds: float = 2.0
) -> None:
    """Imports uploaded CSVs one job at a time, woken by uploads in this process and polling for others'."""
    while True:
        async with runtime.sessionmaker() as session, session.begin():
            job = await imports.claim_next(session=session, now=datetime.now(UTC))
        if job is None:
            waiting.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiting.wait(), poll_seconds)
            continue
        try:
            await _import(runtime, cipher, job)
        except _LeaseLost:
            log.warning("import taken over by another worker", extra={"import_id": str(job.id)})


async def _import(runtime: ServiceRuntime[Settings], cipher: PersonalDataCipher, job: ImportJob) -> None:
    async for chunk in imports.parsed_chunks(job=job):
        async with runtime.sessionmaker() as session:
            async with session.begin():
                moved_on = await imports.import_chunk(
                    session=session, outbox=runtime.outbox, cipher=cipher, job=job, chunk=chunk, now=datetime.now(UTC)
                )
                if not moved_on:
                    raise _LeaseLost
            if session.info.get("outbox_written"):
                runtime.outbox.committed()
        job.processed_rows += len(chunk)
    async with runtime.sessionmaker() as session, session.begin():
        await imports.finish(session=session, job_id=job.id, now=datetime.now(UTC))
