"""The background worker that runs import jobs: claims a job, reads its file in a worker thread a batch at a
time, looks up the members its lines name by the merchant's id, sends each batch to the service's history
endpoint as the uploader, and records what each batch came to with the job's cursor, in one transaction.

Reading the next batch goes on while the last ones are at the service (`import_batches_in_flight`, one
for members, whose rows may name an inviter of an earlier batch); batches are recorded in file order. A
worker holds its job under a lease it renews; a worker that dies leaves the job to the next one, which
goes on after the last recorded batch and sends again what was in flight. Resending is safe: each row is
idempotent by the merchant's id. A service that is away pauses the job (tried again with growing waits,
no line failing for it); a service refusing a batch as a whole (403, 404, 422) fails the job.
"""

import asyncio
import contextlib
import itertools
import logging
import random
import uuid
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway_svc.config import Settings
from gateway_svc.exceptions import UpstreamTimeout
from gateway_svc.imports import service as imports
from gateway_svc.imports.kinds import SPECS, Kind, KindSpec, Problem, Record
from gateway_svc.imports.ledger import results_of, settle
from gateway_svc.imports.models import ImportJob
from gateway_svc.imports.reading import Batch, StoredText, batches_of, lines_of, records_of
from gateway_svc.proxy import naming
from gateway_svc.proxy.forwarding import UpstreamRouter
from gateway_svc.upstreams.breaker import CircuitOpen
from gateway_svc.upstreams.clients import UpstreamAnswer
from qunyun_shared.failures import describe, is_infrastructure_failure
from qunyun_shared.history import MAX_ROWS
from qunyun_shared.identity import Identity
from qunyun_shared.problems import UpstreamUnavailable
from qunyun_shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
# Refusals that say "not now" rather than "not this": tried again like a service that is away.
_NOT_NOW = frozenset({408, 425, 429})
# Room in a request for the body's own braces and the rows' list name.
_ENVELOPE_BYTES = 64
_PART_WAIT_SECONDS = 30.0


class LeaseLost(Exception):
    """Another worker holds the job now: this one must record nothing more of it."""


class JobRefused(Exception):
    """The service refused the job itself, not a line of it: the job fails with the service's word."""


class Importer:
    """Runs import jobs one after another, from any number of processes and replicas at once."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        upstreams: UpstreamRouter,
        settings: Settings,
        waiting: asyncio.Event,
        lease: timedelta = LEASE,
        poll_seconds: float = 2.0,
        first_retry_seconds: float = 1.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.upstreams = upstreams
        self.settings = settings
        self.waiting = waiting
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.first_retry_seconds = first_retry_seconds
        self.worker = str(uuid.uuid4())

    async def run(self) -> None:
        """Runs jobs until cancelled, woken by uploads to this process and polling for others'."""
        while True:
            if (job := await self.claim()) is not None:
                await self.run_job(job)
                continue
            self.waiting.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.waiting.wait(), self.poll_seconds)

    async def claim(self) -> ImportJob | None:
        async with self.sessionmaker() as session, session.begin():
            return await imports.claim_next(
                session=session, worker=self.worker, now=datetime.now(UTC), lease=self.lease
            )

    async def run_job(self, job: ImportJob) -> None:
        """Feeds a claimed job to its service until it ends, another worker takes it over or the process stops."""
        holding = asyncio.create_task(self._hold(job))
        feeding = asyncio.create_task(self._feed(job))
        try:
            await asyncio.wait({holding, feeding}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            await _stop(holding, feeding)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2), self.sessionmaker() as session, session.begin():
                    await imports.release(session=session, job_id=job.id, worker=self.worker)
            raise
        await _stop(holding, feeding)
        for task in (feeding, holding):
            error = None if task.cancelled() else task.exception()
            if isinstance(error, LeaseLost):
                log.warning("import taken over by another worker", extra={"import_id": str(job.id)})
                return
            if error is not None and is_infrastructure_failure(error):
                raise error  # the database is away: the loop's supervisor waits it out
            if error is not None:
                log.error("import failed in the gateway", exc_info=error, extra={"import_id": str(job.id)})
                await self._end(job, "failed", f"The gateway failed on this file: {describe(error)}")
                return

    async def _hold(self, job: ImportJob) -> None:
        """Renews the lease while the job runs; raises LeaseLost once another worker holds it."""
        held_until = datetime.now(UTC) + self.lease
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 4)
            now = datetime.now(UTC)
            try:
                async with self.sessionmaker() as session, session.begin():
                    held = await imports.renew_lease(
                        session=session, job_id=job.id, worker=self.worker, now=now, lease=self.lease
                    )
            except Exception:
                if now >= held_until:
                    raise LeaseLost from None
                log.warning("renewing an import's lease failed", exc_info=True, extra={"import_id": str(job.id)})
                continue
            if not held:
                raise LeaseLost
            held_until = now + self.lease

    async def _feed(self, job: ImportJob) -> None:
        spec = SPECS[Kind(job.kind)]
        caller = Identity(
            tenant_id=str(job.tenant_id),
            principal=job.principal,
            roles=tuple(job.roles),
            permissions=frozenset(job.permissions),
        )
        window = 1 if spec.ordered else self.settings.import_batches_in_flight
        batches = self._batches(job, spec, asyncio.get_running_loop())
        in_flight: deque[tuple[Batch, list[Record], asyncio.Task[list[dict[str, Any]]]]] = deque()
        reading = asyncio.create_task(self._next_batch(job, caller, batches))
        refusal: JobRefused | None = None
        try:
            while (batch := await reading) is not None:
                while len(in_flight) >= window:
                    await self._record(job, spec, *in_flight.popleft())
                sent = [record for record in batch.records if not record.problems]
                sending = asyncio.create_task(self._send(job, caller, spec, sent))
                in_flight.append((batch, sent, sending))
                reading = asyncio.create_task(self._next_batch(job, caller, batches))
            while in_flight:
                await self._record(job, spec, *in_flight.popleft())
        except JobRefused as refused:
            refusal = refused
        finally:
            await _stop(reading, *(task for *_, task in in_flight))
        if refusal is None:
            await self._end(job, "done", None)
        else:
            await self._end(job, "failed", str(refusal))

    def _batches(self, job: ImportJob, spec: KindSpec, loop: asyncio.AbstractEventLoop) -> Iterator[Batch]:
        """The job's batches after its cursor; iterated in a worker thread, which fetches each part of the
        file from the event loop as it reaches it."""

        def fetch(part: int) -> bytes:
            loading = asyncio.run_coroutine_threadsafe(self._part(job, part), loop)
            return loading.result(timeout=_PART_WAIT_SECONDS)

        records = records_of(spec, lines_of(StoredText(fetch, job.file_parts)))
        max_bytes = self.settings.max_body_bytes - _ENVELOPE_BYTES
        return batches_of(records, after_line=job.processed_lines + 1, max_rows=MAX_ROWS, max_bytes=max_bytes)

    async def _part(self, job: ImportJob, part: int) -> bytes:
        async with self.sessionmaker() as session:
            return await imports.file_part(session=session, job_id=job.id, part=part)

    async def _next_batch(self, job: ImportJob, caller: Identity, batches: Iterator[Batch]) -> Batch | None:
        """The next batch, read in a worker thread, with the members it names by the merchant's id looked up."""
        batch = await asyncio.to_thread(next, batches, None)
        if batch is None:
            return None
        wanted = sorted({r.member_ref for r in batch.records if r.member_ref is not None and not r.problems})
        if wanted:
            resolution = await self._resolve(job, caller, wanted)
            for record in batch.records:
                if record.member_ref is None or record.problems:
                    continue
                if (member_id := resolution.members.get(record.member_ref)) is not None:
                    record.row["member_id"] = member_id
                    continue
                message = resolution.missing(record.member_ref)
                if record.member_ref not in resolution.erased:
                    message += ": import the members first"
                record.problems.append(Problem(record.first_line, "merchant_member_id", message))
        return batch

    async def _resolve(self, job: ImportJob, caller: Identity, merchant_ids: list[str]) -> naming.Resolution:
        """The members the merchant ids name, and which of them were erased."""
        body = orjson.dumps({"merchant_member_ids": merchant_ids})
        answer = await self._exchange(job, caller, naming.RESOLVE_PATH, body)
        try:
            return naming.Resolution.of(answer.content)
        except ValueError:
            raise JobRefused("member-svc answered a look-up of members with something other than their ids.") from None

    async def _send(self, job: ImportJob, caller: Identity, spec: KindSpec, sent: list[Record]) -> list[dict[str, Any]]:
        """The service's result for each record sent, in the order of `sent`."""
        if not sent:
            return []
        rows = b",".join(orjson.dumps(record.row) for record in sent)
        body = b'{"' + spec.rows.encode() + b'":[' + rows + b"]}"
        path = spec.path(job.campaign_id)
        answer = await self._exchange(job, caller, path, body)
        results = results_of(answer.content, rows=len(sent))
        if results is None:
            raise JobRefused(f"{path} answered a batch of {len(sent)} rows with something other than their results.")
        return results

    async def _exchange(self, job: ImportJob, caller: Identity, path: str, body: bytes) -> UpstreamAnswer:
        """The service's 200 answer, asked again with growing waits (the job paused meanwhile) while the service
        is away or busy; any other refusal fails the job (JobRefused)."""
        for attempt in itertools.count():
            retry_after = 0.0
            try:
                answer = await self.upstreams.send_as(
                    caller, path, body, timeout=self.settings.import_batch_timeout_seconds
                )
            except CircuitOpen as exc:  # failing for everyone: rest it as live calls do
                reason, retry_after = exc.detail, float(exc.retry_after)
            except (UpstreamUnavailable, UpstreamTimeout) as exc:
                reason = exc.detail
            else:
                if answer.status == 200:
                    return answer
                reason = f"{path} answered {answer.status}: {_detail_of(answer)}"
                if answer.status < 500 and answer.status not in _NOT_NOW:
                    raise JobRefused(reason)
                retry_after = _seconds(answer.headers.get("retry-after"))
            cap = self.settings.import_retry_max_seconds
            wait = max(retry_after, min(cap, self.first_retry_seconds * 2**attempt) * random.uniform(0.8, 1.0))
            await self._pause(job, reason, datetime.now(UTC) + timedelta(seconds=wait))
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _pause(self, job: ImportJob, reason: str, retry_at: datetime) -> None:
        log.warning("import paused", extra={"import_id": str(job.id), "reason": reason})
        try:
            async with self.sessionmaker() as session, session.begin():
                await imports.pause(
                    session=session, job_id=job.id, worker=self.worker, reason=reason, retry_at=retry_at
                )
        except Exception:
            log.warning("recording an import's pause failed", exc_info=True, extra={"import_id": str(job.id)})

    async def _record(
        self,
        job: ImportJob,
        spec: KindSpec,
        batch: Batch,
        sent: list[Record],
        sending: asyncio.Task[list[dict[str, Any]]],
    ) -> None:
        settled = settle(spec=spec, batch=batch, sent=sent, answered=await sending)
        async with self.sessionmaker() as session, session.begin():
            recorded = await imports.record_batch(
                session=session,
                job=job,
                worker=self.worker,
                first_line=batch.first_line,
                last_line=batch.last_line,
                settled=settled,
                now=datetime.now(UTC),
                lease=self.lease,
            )
            if not recorded:
                raise LeaseLost
        job.processed_lines = batch.last_line - 1

    async def _end(self, job: ImportJob, status: Literal["done", "failed"], reason: str | None) -> None:
        async with self.sessionmaker() as session, session.begin():
            await imports.end(
                session=session, job=job, worker=self.worker, status=status, reason=reason, now=datetime.now(UTC)
            )


async def _stop(*tasks: asyncio.Task[object]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _detail_of(answer: UpstreamAnswer) -> str:
    try:
        body = orjson.loads(answer.content)
    except ValueError:
        return "(no problem document)"
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail)[:200] if detail else "(no detail)"


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0


def start_importing(*, runtime: ServiceRuntime[Settings], upstreams: UpstreamRouter) -> asyncio.Event:
    """Runs the gateway's import workers in the background; answers the event an upload sets to wake them."""
    waiting = asyncio.Event()
    for index in range(runtime.settings.import_concurrent_jobs):
        importer = Importer(
            sessionmaker=runtime.sessionmaker, upstreams=upstreams, settings=runtime.settings, waiting=waiting
        )
        runtime.run_in_background(f"history-import-{index}", importer.run)
    return waiting
