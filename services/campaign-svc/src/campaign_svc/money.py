"""Money in the API: integer fen, never negative, bounded so that no sum of them overflows a BIGINT."""

from typing import Annotated

from pydantic import Field

# 10 billion yuan: beyond any order, and 10,000 of them still fit in a signed 64-bit integer.
MAX_FEN = 10**12

Fen = Annotated[int, Field(ge=0, le=MAX_FEN, description="An amount in fen (1/100 yuan).", examples=[9900])]
PositiveFen = Annotated[int, Field(gt=0, le=MAX_FEN, description="An amount in fen (1/100 yuan).", examples=[9900])]
