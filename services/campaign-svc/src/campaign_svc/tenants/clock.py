"""A tenant's clock: its local day and its quiet hours."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Clock:
    """Local time as a tenant lives it."""

    zone: ZoneInfo
    quiet_start: time | None
    quiet_end: time | None

    def local_day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def quiet_until(self, at: datetime) -> datetime | None:
        """When the quiet hours `at` falls in end, or None if `at` is not in quiet hours."""
        if self.quiet_start is None or self.quiet_end is None:
            return None
        local = at.astimezone(self.zone)
        now = local.time()
        wraps = self.quiet_start > self.quiet_end  # 22:00-08:00 spans midnight
        inside = (
            (now >= self.quiet_start or now < self.quiet_end) if wraps else self.quiet_start <= now < self.quiet_end
        )
        if not inside:
            return None
        end_day = local.date() + timedelta(days=1) if wraps and now >= self.quiet_start else local.date()
        return datetime.combine(end_day, self.quiet_end, tzinfo=self.zone)
