"""Checking passwords: a bounded number of argon2 hashes at once, the rest refused rather than queued."""

import asyncio
from collections.abc import Iterator

import pytest

from gateway_svc.accounts import passwords
from gateway_svc.exceptions import PasswordHashingBusy

pytestmark = pytest.mark.unit


@pytest.fixture
def one_slot_one_waiting() -> Iterator[None]:
    passwords.limit_hashing(concurrency=1, queue=1)
    yield
    passwords.limit_hashing(concurrency=2, queue=16)


async def test_past_its_slots_and_queue_a_password_check_is_refused_at_once(one_slot_one_waiting: None) -> None:
    stored = await passwords.hash_password(password="correct horse battery staple")
    checks = [passwords.verify_password(password_hash=stored, password=f"guess {n}") for n in range(6)]
    outcomes = await asyncio.gather(*checks, return_exceptions=True)
    # One hashing, one waiting for it; the other four were not queued behind them.
    assert outcomes[:2] == [False, False]
    assert all(isinstance(outcome, PasswordHashingBusy) for outcome in outcomes[2:])
    assert await passwords.verify_password(
        password_hash=stored, password="correct horse battery staple"
    )  # slots free again


async def test_a_caller_that_goes_away_keeps_its_slot_until_its_hash_is_done(one_slot_one_waiting: None) -> None:
    stored = await passwords.hash_password(password="correct horse battery staple")
    abandoned = asyncio.ensure_future(passwords.verify_password(password_hash=stored, password="guess"))
    await asyncio.sleep(0)  # one turn of the loop, not a wait: the check starts and takes the free slot
    abandoned.cancel()
    waiting = asyncio.ensure_future(passwords.verify_password(password_hash=stored, password="guess 2"))
    await asyncio.sleep(0)  # and this one its place in the queue
    # The cancelled check's hash still runs and holds the one slot; one may wait, a third may not.
    with pytest.raises(PasswordHashingBusy):
        await passwords.verify_password(password_hash=stored, password="guess 3")
    assert await waiting is False
