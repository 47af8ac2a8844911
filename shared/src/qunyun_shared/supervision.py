"""Background loops (the outbox relay, the event consumer, sweeps) under watch: a loop waiting for a
dependency says so in readiness; a loop that keeps crashing takes the process out of readiness and,
past a limit, down, so the orchestrator restarts it rather than keeping a process that consumes nothing."""

import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from qunyun_shared import metrics
from qunyun_shared.failures import describe, is_infrastructure_failure

log = logging.getLogger(__name__)

# Process-wide by nature: it is the process that the orchestrator restarts.
_gave_up = False


def gave_up() -> bool:
    """Whether a background loop stopped this process for crashing too often."""
    return _gave_up


@dataclass(slots=True)
class _Crashes:
    count: int
    last_error: str
    last_at: float


class Backoff:
    """Doubling waits from `first` up to `cap` seconds, started again by `reset`."""

    def __init__(self, first: float = 0.1, cap: float = 5.0) -> None:
        self.first = first
        self.cap = cap
        self._next = first

    async def wait(self) -> None:
        await asyncio.sleep(self._next)
        self._next = min(self._next * 2, self.cap)

    def reset(self) -> None:
        self._next = self.first


class BackgroundHealth:
    """What the background loops of one process report about themselves."""

    def __init__(
        self,
        *,
        crashes_before_unready: int = 3,
        crashes_before_exit: int = 8,
        healthy_after: float = 60.0,
        first_stall_wait: float = 0.5,
        first_restart_wait: float = 1.0,
        stop_process: Callable[[], None] = lambda: os.kill(os.getpid(), signal.SIGTERM),
    ) -> None:
        self.stop_process = stop_process
        self.crashes_before_unready = crashes_before_unready
        self.crashes_before_exit = crashes_before_exit
        self.healthy_after = healthy_after
        self.first_stall_wait = first_stall_wait
        self.first_restart_wait = first_restart_wait
        self.gave_up = False
        self._stalls: dict[str, str] = {}
        self._crashes: dict[str, _Crashes] = {}

    def stalled(self, loop: str, error: BaseException) -> None:
        """`loop` is waiting for a dependency that failed with `error`; counted once per stall."""
        if loop not in self._stalls:
            metrics.BACKGROUND_STALLS.labels(loop).inc()
            metrics.BACKGROUND_STALLED.labels(loop).set(1)
            log.warning("background loop stalled, waiting for a dependency", extra={"loop": loop})
        self._stalls[loop] = describe(error)

    def resumed(self, loop: str) -> None:
        if self._stalls.pop(loop, None) is not None:
            metrics.BACKGROUND_STALLED.labels(loop).set(0)
            log.info("background loop resumed", extra={"loop": loop})

    def crashed(self, loop: str, error: BaseException) -> int:
        """Records a crash; returns how many in a row, a crash after a healthy spell starting the count again."""
        metrics.BACKGROUND_CRASHES.labels(loop).inc()
        now = time.monotonic()
        previous = self._crashes.get(loop)
        count = 1 if previous is None or now - previous.last_at > self.healthy_after else previous.count + 1
        self._crashes[loop] = _Crashes(count, describe(error), now)
        return count

    def checks(self) -> dict[str, str]:
        """A readiness line per loop that is not simply running."""
        lines = {loop: f"stalled: {why}" for loop, why in self._stalls.items()}
        for loop, crashes in self._crashes.items():
            if self._crashing(crashes):
                lines[loop] = f"crashing: {crashes.count} times in a row, last {crashes.last_error}"
        return lines

    @property
    def ready(self) -> bool:
        """False while a loop keeps crashing: the process looks alive but does not do its work."""
        return not self.gave_up and not any(self._crashing(c) for c in self._crashes.values())

    def _crashing(self, crashes: _Crashes) -> bool:
        recent = time.monotonic() - crashes.last_at <= self.healthy_after
        return recent and crashes.count >= self.crashes_before_unready

    async def supervise(self, loop: str, run: Callable[[], Awaitable[None]]) -> None:
        """Runs `run` for good: waits out a dependency that fails it, restarts it with backoff when it
        crashes, and stops the process when it has crashed too often in a row."""
        waits, restarts = (
            Backoff(first=self.first_stall_wait, cap=5.0),
            Backoff(first=self.first_restart_wait, cap=30.0),
        )
        while True:
            started = time.monotonic()
            try:
                await run()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if time.monotonic() - started > self.healthy_after:
                    waits.reset()
                    restarts.reset()
                if is_infrastructure_failure(error):
                    self.stalled(loop, error)
                    await waits.wait()
                    continue
                count = self.crashed(loop, error)
                log.exception("background loop crashed; restarting", extra={"loop": loop, "in_a_row": count})
                if count >= self.crashes_before_exit:
                    self.give_up(loop)
                    return
                await restarts.wait()

    def give_up(self, loop: str) -> None:
        """Asks the server to shut down (SIGTERM, for a graceful stop); the service's command then exits
        non-zero for the orchestrator."""
        global _gave_up
        log.critical("background loop keeps crashing; stopping the process", extra={"loop": loop})
        _gave_up = self.gave_up = True
        self.stop_process()
