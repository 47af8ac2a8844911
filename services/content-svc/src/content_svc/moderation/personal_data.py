"""Personal data leaking into text: mainland mobile numbers and ID-card numbers, found in folded text."""

import re
from collections.abc import Iterator
from datetime import date
from typing import Literal

IdentifierKind = Literal["phone", "id_card"]

# Each pattern opens with a plain character so the regex engine can skip ahead to candidates; the
# "no digit before" check therefore sits just after that first character, as a two-character lookbehind.
# A mobile number is 1[3-9] and 9 more digits, with single spaces or dashes between any of them, after
# nothing, a non-digit, or the +86 / 0086 country code, and before no further digit.
_MOBILE = re.compile(r"1(?:(?<![0-9]1)|(?<=\+861)|(?<=(?<![0-9])00861))[3-9][0-9](?:[ -]?[0-9]){8}(?![0-9])")
# Region (first digit 1-8), birth date 19xx/20xx, sequence, check character (x is folded lower case).
_ID_CARD = re.compile(
    r"[1-8](?<![0-9][1-8])[0-9]{5}(?P<born>(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]))"
    r"[0-9]{3}[0-9x](?![0-9])"
)
_ID_CARD_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CARD_CHECK = "10x98765432"

# How many leading and trailing digits stay visible when masked: 138****1234, 1101**********123X.
KEPT_DIGITS: dict[str, tuple[int, int]] = {"phone": (3, 4), "id_card": (4, 4)}


def identifiers(folded: str) -> Iterator[tuple[IdentifierKind, int, int]]:
    """Spans of mainland mobile numbers and of 18-character resident ID numbers; an ID number counts only
    with a real birth date and a valid check character, so order numbers and other digit runs are left alone."""
    for number in _MOBILE.finditer(folded):
        yield "phone", number.start(), number.end()
    for number in _ID_CARD.finditer(folded):
        if _real_date(number["born"]) and _checks(number[0]):
            yield "id_card", number.start(), number.end()


def hidden_positions(folded: str, start: int, end: int, *, kept: tuple[int, int]) -> list[int]:
    """Positions of the digits to star in `folded[start:end]`, keeping `kept` (leading, trailing) digits;
    separators stay as written."""
    digits = [i for i in range(start, end) if folded[i].isalnum()]
    leading, trailing = kept
    return digits[leading : len(digits) - trailing]


def _real_date(yyyymmdd: str) -> bool:
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return False
    return True


def _checks(number: str) -> bool:
    """ISO 7064 MOD 11-2, as GB 11643 defines the last character."""
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_CARD_WEIGHTS, strict=True))
    return _ID_CARD_CHECK[total % 11] == number[17]
