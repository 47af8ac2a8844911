"""The retry schedule (exponential backoff with jitter) and the warn-then-disable policy."""

import itertools
import random
from datetime import timedelta

import pytest

from gateway_svc.webhooks.schedule import JITTER, DisablePolicy, retry_delay

from .webhook_world import NOW, settings

pytestmark = pytest.mark.unit


def test_the_default_schedule_grows_threefold_to_a_cap_over_about_a_day() -> None:
    schedule = settings().webhook_retry_seconds
    growth = [later / earlier for earlier, later in itertools.pairwise(schedule)]
    assert schedule[0] == 5
    assert all(ratio == 3 for ratio in growth[:7]) and max(schedule) == 6 * 3600
    assert timedelta(hours=20) < timedelta(seconds=sum(schedule)) < timedelta(hours=30)


def test_each_wait_is_the_schedules_figure_within_the_jitter() -> None:
    schedule = (1.0, 10.0, 100.0)
    rng = random.Random(1)
    for attempts, figure in enumerate(schedule, start=1):
        waits = [retry_delay(schedule, attempts, rng=rng) for _ in range(500)]
        seconds = [wait.total_seconds() for wait in waits if wait is not None]
        assert len(seconds) == 500
        assert figure * (1 - JITTER) <= min(seconds) < figure * 0.9
        assert figure * 1.1 < max(seconds) <= figure * (1 + JITTER)


def test_the_schedule_runs_out_after_one_try_more_than_it_has_waits() -> None:
    schedule = (1.0, 2.0)
    rng = random.Random(2)
    assert retry_delay(schedule, 2, rng=rng) is not None
    assert retry_delay(schedule, 3, rng=rng) is None
    with pytest.raises(ValueError):
        retry_delay(schedule, 0, rng=rng)


def test_the_retry_schedule_is_configured_as_json_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_RETRY_SECONDS", "[0.1, 0.2, 0.4]")
    assert settings().webhook_retry_seconds == (0.1, 0.2, 0.4)
    monkeypatch.setenv("WEBHOOK_RETRY_SECONDS", "[]")
    with pytest.raises(ValueError):
        settings()


POLICY = DisablePolicy(notice_after=timedelta(hours=24), notice_period=timedelta(hours=48), min_failures=5)


@pytest.mark.parametrize(
    ("failing_for", "failures", "noticed", "due"),
    [
        (timedelta(hours=23), 100, False, False),  # not long enough
        (timedelta(hours=25), 4, False, False),  # too few failures to judge by
        (timedelta(hours=25), 5, False, True),
        (timedelta(hours=25), 5, True, False),  # warned once per streak
    ],
)
def test_a_failing_endpoint_is_announced_after_long_enough(
    failing_for: timedelta, failures: int, noticed: bool, due: bool
) -> None:
    now = NOW + timedelta(days=3)
    assert POLICY.due_for_notice(failing_since=now - failing_for, failures=failures, noticed=noticed, now=now) is due


def test_an_endpoint_is_disabled_only_a_notice_period_after_its_announcement() -> None:
    disables_at = POLICY.disables_at(NOW)
    assert disables_at == NOW + timedelta(hours=48)
    assert not POLICY.due_for_disabling(disables_at=None, now=NOW + timedelta(days=365))  # never unannounced
    assert not POLICY.due_for_disabling(disables_at=disables_at, now=disables_at - timedelta(seconds=1))
    assert POLICY.due_for_disabling(disables_at=disables_at, now=disables_at)
