"""Provably fair draws: rolls from a committed secret seed, recorded in a hash-chained audit log.

How a draw is made, and how anyone re-checks it by hand (Python's hashlib and hmac, or openssl):
1. Before its first draw a lottery fixes a secret 32-byte seed; the audit shows `commitment` = sha256(seed)
   from the start and the seed itself once the campaign has ended. Check sha256(seed) against the
   commitment you saw before the draws.
2. The roll: message = "<campaign_id>|<sequence>|<member_ref>|<nonce>" (the UUID hyphenated, hex lowercase).
   For k = 0, 1, ...: digest = HMAC-SHA256(key=seed, msg=message + "|" + str(k)); read the digest as eight
   big-endian 32-bit words; the first word below 4,294,000,000 (the largest multiple of 1,000,000 under
   2**32, so that every roll is equally likely) gives roll = word % 1,000,000.
3. The prize: walk the prizes in declared order summing probability_ppm; the roll falls on the first prize
   whose running sum exceeds it, or on none if it is at least the total.
4. The outcome: `won` while fewer than `stock` of that prize were won before, `out_of_stock` once that
   many were; `over_budget` when the campaign's budget could not pay for it (the budget is not published).
5. The chain: entry_hash = sha256(prev_hash + canonical JSON of the entry), the entry being {sequence,
   member_ref, nonce, roll, prize, outcome, drawn_at} with keys sorted and no spaces; the first entry's
   prev_hash is the commitment, each next one's the entry before's hash. Keep the head hash you saw: a later
   audit must extend it, or draws were cut from its end.
A member finds their draws in the audit by member_ref = sha256("<salt>|<member_id>"); their draws list
gives the salts.

What this proves: the seed was fixed before the draws, and every roll, prize and stock count follows from
the published inputs. Nonces and salts are the service's own random choice: the audit cannot show that
its code did not pick them for an outcome.
"""

import hashlib
import hmac
import json
import struct
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Protocol, TypeVar

from campaign_svc.lotteries.schemas import PPM, AuditEntry, AuditPrize, LotteryAudit

_ROLL_LIMIT = (2**32 // PPM) * PPM


def commitment_of(seed: bytes) -> str:
    """What the audit shows of the seed before it is revealed (step 1 of the module's docstring)."""
    return hashlib.sha256(seed).hexdigest()


def member_ref_of(salt: str, member_id: uuid.UUID) -> str:
    """How the audit names a member: sha256 of the draw's salt and the member's id."""
    return hashlib.sha256(f"{salt}|{member_id}".encode()).hexdigest()


def roll_of(seed: bytes, campaign_id: uuid.UUID, sequence: int, member_ref: str, nonce: str) -> int:
    """A roll in [0, 1,000,000) by rejection sampling over HMAC digests (step 2 of the module's docstring)."""
    message = f"{campaign_id}|{sequence}|{member_ref}|{nonce}"
    attempt = 0
    while True:
        digest = hmac.new(seed, f"{message}|{attempt}".encode(), hashlib.sha256).digest()
        for (word,) in struct.iter_unpack(">I", digest):
            if word < _ROLL_LIMIT:
                return int(word % PPM)
        attempt += 1


class _Chance(Protocol):
    probability_ppm: int


_P = TypeVar("_P", bound=_Chance)


def prize_at(prizes: Sequence[_P], roll: int) -> _P | None:
    """The prize whose interval of rolls holds `roll`, None for no prize (step 3 of the module's docstring)."""
    upper = 0
    for prize in prizes:
        upper += prize.probability_ppm
        if roll < upper:
            return prize
    return None


def entry_hash_of(entry: AuditEntry) -> str:
    """The entry's link in the chain (step 5 of the module's docstring)."""
    hashed = entry.model_dump(exclude={"prev_hash", "entry_hash"})
    canonical = json.dumps(hashed, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((entry.prev_hash + canonical).encode()).hexdigest()


def verify(audit: LotteryAudit) -> list[str]:
    """The problems in a published audit, none if every check passes: the seed against the commitment, each
    entry's roll (once the seed is revealed), prize, outcome and stock count, and the chain to the head."""
    problems: list[str] = []
    seed = _seed_from(audit.seed)
    if audit.seed is not None and (seed is None or commitment_of(seed) != audit.commitment):
        problems.append("the revealed seed does not match the commitment, so no roll can be trusted")
        seed = None
    won: Counter[str] = Counter()
    prev_hash = audit.commitment
    for position, entry in enumerate(audit.entries, start=1):
        where = f"draw {entry.sequence}"
        if entry.sequence != position:
            problems.append(f"{where}: found where draw {position} should be (draws removed or reordered)")
        if entry.prev_hash != prev_hash:
            problems.append(f"{where}: prev_hash does not link to the entry before")
        if entry_hash_of(entry) != entry.entry_hash:
            problems.append(f"{where}: entry_hash does not match the entry")
        if (
            seed is not None
            and roll_of(seed, audit.campaign_id, entry.sequence, entry.member_ref, entry.nonce) != entry.roll
        ):
            problems.append(f"{where}: roll {entry.roll} does not follow from the seed and the draw's inputs")
        if problem := _outcome_problem(entry, audit.prizes, won):
            problems.append(f"{where}: {problem}")
        prev_hash = entry.entry_hash
    if audit.draws != len(audit.entries) or audit.head_hash != prev_hash:
        problems.append(f"the log does not end at draw {audit.draws} with the head hash (draws missing)")
    return problems


def _seed_from(revealed: str | None) -> bytes | None:
    try:
        return bytes.fromhex(revealed) if revealed is not None else None
    except ValueError:
        return None


def _outcome_problem(entry: AuditEntry, prizes: Sequence[AuditPrize], won: Counter[str]) -> str | None:
    """What is wrong with the entry's prize and outcome given the prizes won before it (counted in `won`)."""
    landed = prize_at(prizes, entry.roll)
    key = landed.key if landed else None
    if entry.prize != key:
        return f"roll {entry.roll} falls on {key or 'no prize'}, not on {entry.prize or 'no prize'}"
    if landed is None:
        return None if entry.outcome == "lost" else f"outcome {entry.outcome!r} where the roll won nothing"
    left = landed.stock - won[landed.key]
    if entry.outcome == "won":
        won[landed.key] += 1
    expected = ("won", "over_budget") if left > 0 else ("out_of_stock",)
    if entry.outcome not in expected:
        return f"outcome {entry.outcome!r} with {max(left, 0)} of prize {landed.key!r} left"
    return None
