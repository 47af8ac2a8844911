"""A tenant's sensitive-word lexicon, with the Advertising Law's absolute claims built in, matched in one pass."""

import bisect
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import ahocorasick_rs

from content_svc.moderation import ad_law
from content_svc.moderation.folding import fold

TermCategory = Literal["sensitive", "ad_law", "allow"]
TermAction = Literal["mask", "hold"]


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    category: TermCategory = "sensitive"
    action: TermAction = "hold"  # ignored for "allow" terms


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    term: Term


BUILTIN_AD_LAW_TERMS = tuple(Term(claim, "ad_law", "hold") for claim in ad_law.ABSOLUTE_CLAIMS)
BUILTIN_ALLOWED_TERMS = tuple(Term(word, "allow") for word in ad_law.NON_CLAIMS)


class Lexicon:
    """Terms folded like the text they are matched in, in one Aho-Corasick automaton."""

    def __init__(self, terms: Iterable[Term], *, with_builtin: bool = True) -> None:
        builtin = (*BUILTIN_AD_LAW_TERMS, *BUILTIN_ALLOWED_TERMS) if with_builtin else ()
        by_folded: dict[str, Term] = {}
        # Later terms replace earlier ones of the same folded text: the tenant's own over the built-in.
        for term in itertools.chain(builtin, terms):
            folded = fold(term.text.strip())
            if folded:  # an empty pattern would match between every two characters
                by_folded[folded] = term
        self._terms = list(by_folded.values())
        # The Rust automaton rather than pyahocorasick: pyahocorasick scans a node's children one by one,
        # and the root of a Chinese lexicon has thousands (bench/moderation.py's 10 KB text against 10,000
        # terms: 2.7 ms there, 0.1 ms here).
        self._automaton = ahocorasick_rs.AhoCorasick(by_folded)

    def __len__(self) -> int:
        return len(self._terms)

    def find(self, text: str) -> list[Hit]:
        """Every term in `text`, overlapping ones included, except those inside an allowed word."""
        return self.find_folded(fold(text))

    def find_folded(self, folded: str) -> list[Hit]:
        """`find` for text already folded, so moderation folds once for the lexicon and its patterns."""
        hits, allowed = [], []
        for index, start, end in self._automaton.find_matches_as_indexes(folded, overlapping=True):
            term = self._terms[index]
            if term.category == "allow":
                allowed.append((start, end))
            else:
                hits.append(Hit(start, end, term))
        return _outside(allowed, hits) if allowed and hits else hits


def _outside(allowed: list[tuple[int, int]], hits: list[Hit]) -> list[Hit]:
    """The hits not lying wholly within an allowed span, in O((a + h) log a) for texts full of both."""
    allowed.sort()
    starts = [start for start, _ in allowed]
    # furthest[i]: the furthest end among the allowed spans starting at or before starts[i]
    furthest = list(itertools.accumulate((end for _, end in allowed), max))
    kept = []
    for hit in hits:
        opened = bisect.bisect_right(starts, hit.start)
        if opened == 0 or furthest[opened - 1] < hit.end:
            kept.append(hit)
    return kept
