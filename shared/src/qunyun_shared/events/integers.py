"""Whole numbers as the columns that keep them hold them: money in 64-bit columns, points, levels and
counts in 32-bit ones. A payload (or an API body) with a number beyond them is refused when it is built,
so an event no consumer could store is never published and such a request is a 422, not a 500."""

from typing import Annotated

from pydantic import Field

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
"""Any whole number a BIGINT holds."""
Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
"""Any whole number an INTEGER holds: a change of points, say."""
Fen = Annotated[int, Field(ge=0, le=INT64_MAX)]
"""An amount of money in fen: never negative."""
Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
"""A quantity, a balance of points, a level: never negative."""
PositiveCount = Annotated[int, Field(ge=1, le=INT32_MAX)]
"""A count that starts at one (a streak, failures in a row), held in a 32-bit column."""
