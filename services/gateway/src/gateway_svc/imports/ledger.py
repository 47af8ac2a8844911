"""What a batch came to: each record's result (the id of what it became, or failed) and each line's problems,
the service's problems with a row's nested values put on the lines those came from.

The service's answer (`qunyun_shared.history.HistoryBatchRead`) is read as plain JSON and checked for what is
used of it: validating a thousand results as models cost six times as much, for every batch of an import.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from gateway_svc.imports.kinds import KindSpec, Problem, Record
from gateway_svc.imports.reading import Batch

_OUTCOMES = frozenset({"created", "unchanged", "failed"})


@dataclass(frozen=True, slots=True)
class Settled:
    results: list[list[Any]]
    """[line, merchant id, record id, outcome] for each record, in line order."""
    errors: list[list[Any]]
    """[line, field, message] for each problem, in line order."""
    counts: Counter[str]


def results_of(content: bytes, *, rows: int) -> list[dict[str, Any]] | None:
    """The results of a batch answer for `rows` rows, in row order; None if the answer is not one."""
    try:
        results = orjson.loads(content)["results"]
        ordered = sorted(results, key=lambda result: result["row"])
    except (ValueError, KeyError, TypeError):
        return None
    for index, result in enumerate(ordered):
        outcome, record_id = result.get("outcome"), result.get("id")
        if result["row"] != index or outcome not in _OUTCOMES:
            return None
        if (outcome == "failed") != (record_id is None) or not isinstance(record_id, str | None):
            return None
        if not isinstance(result.get("problems", []), list):
            return None
    return ordered if len(ordered) == rows else None


def settle(*, spec: KindSpec, batch: Batch, sent: Sequence[Record], answered: Sequence[dict[str, Any]]) -> Settled:
    """The batch's results: `answered` holds the service's result for each record sent, in the order of `sent`."""
    place = {id(record): index for index, record in enumerate(sent)}
    results: list[list[Any]] = []
    errors: list[list[Any]] = []
    counts: Counter[str] = Counter()
    for record in batch.records:
        problems = record.problems
        if not problems:
            result = answered[place[id(record)]]
            outcome = result["outcome"]
            if outcome != "failed":
                results.append([record.first_line, record.merchant_id, result["id"], outcome])
                counts[outcome] += 1
                continue
            problems = [_problem(spec, record, problem) for problem in result.get("problems") or ()]
            problems = problems or [Problem(record.first_line, None, "refused by the service, which said no more")]
        results.append([record.first_line, record.merchant_id, None, "failed"])
        counts["failed"] += 1
        errors += [[problem.line, problem.field, problem.message] for problem in problems]
    errors.sort(key=lambda error: int(error[0]))
    return Settled(results, errors, counts)


def _problem(spec: KindSpec, record: Record, problem: Any) -> Problem:
    """A problem the service found with a row, on the line (and column) it came from."""
    if not isinstance(problem, dict):
        return Problem(record.first_line, None, str(problem)[:300])
    field = problem.get("field")
    line, column = spec.locate(record, field if isinstance(field, str) else None)
    return Problem(line, column, str(problem.get("message", ""))[:300])
