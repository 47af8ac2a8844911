"""When to try a failed delivery again, and when a failing endpoint is warned about and then disabled."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

# Each wait is drawn from ±20% of the schedule's figure, so that the deliveries that failed together
# during a partner's outage do not all come back at the same instant when it recovers.
JITTER = 0.2


def retry_delay(schedule: tuple[float, ...], attempts: int, *, rng: random.Random) -> timedelta | None:
    """The wait before the next try after `attempts` failed ones, or None when the schedule has run out."""
    if attempts < 1:
        raise ValueError("A retry follows at least one attempt.")
    if attempts > len(schedule):
        return None
    seconds = schedule[attempts - 1]
    return timedelta(seconds=seconds * rng.uniform(1 - JITTER, 1 + JITTER))


@dataclass(frozen=True)
class DisablePolicy:
    """An endpoint whose every attempt has failed for `notice_after` (and at least `min_failures` times) is
    warned about; if nothing succeeds for `notice_period` after the warning, it is disabled."""

    notice_after: timedelta
    notice_period: timedelta
    min_failures: int = 1

    def due_for_notice(self, *, failing_since: datetime, failures: int, noticed: bool, now: datetime) -> bool:
        """Whether a failure streak has lasted long enough to warn the tenant (once per streak)."""
        return not noticed and failures >= self.min_failures and now - failing_since >= self.notice_after

    def due_for_disabling(self, *, disables_at: datetime | None, now: datetime) -> bool:
        """Whether the warned-about endpoint's time is up; never without the warning first."""
        return disables_at is not None and now >= disables_at

    def disables_at(self, noticed_at: datetime) -> datetime:
        """When an endpoint warned about at `noticed_at` is disabled unless a delivery succeeds."""
        return noticed_at + self.notice_period
