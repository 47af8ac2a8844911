"""content-svc's text moderation in process, beside a same-run reference (part of `python -m bench.content`).

- moderate() of a 10 KB mixed Chinese/Latin member post against a 10,000-term lexicon: p50/p95/p99.
- Its term-matching step (one Aho-Corasick pass, overlapping hits) vs a single compiled `re` alternation of
  the same 10,000 folded terms over the same folded text (which even misses overlaps): what one writes
  without Aho-Corasick.
"""

import gc
import random
import re
import time
from collections.abc import Callable
from typing import Any

from bench.latency import summary
from content_svc.moderation import Lexicon, Term, fold, moderate

TERMS = 10_000
TEXT_BYTES = 10 * 1024
RUNS = 2_000
NAIVE_RUNS = 20  # the alternation takes tens of milliseconds a pass
TARGET_MS = 1.0
# As many ideographs as modern Chinese has common characters (3,500): a lexicon drawn from them opens on
# thousands of distinct characters, as a real one does.
HANZI = [chr(code) for code in range(0x4E00, 0x4E00 + 3_500)]
LATIN = "abcdefghijklmnopqrstuvwxyz"
# Chinese punctuation: the full-width comma, full stop, !, ?, colon, semicolon, enumeration comma, brackets.
PUNCTUATION = "\uff0c\u3002\uff01\uff1f\uff1a\uff1b\u3001\uff08\uff09"


def lexicon_terms(rng: random.Random) -> list[Term]:
    """Seven in ten Chinese words of 2-4 characters, the rest Latin words of 4-8 letters; a third masked."""
    terms = []
    for _ in range(TERMS):
        if rng.random() < 0.7:
            text = "".join(rng.choices(HANZI, k=rng.randint(2, 4)))
        else:
            text = "".join(rng.choices(LATIN, k=rng.randint(4, 8)))
        terms.append(Term(text, "sensitive", rng.choice(["mask", "hold", "hold"])))
    return terms


def post(rng: random.Random, terms: list[Term]) -> str:
    """About 10 KB of UTF-8: Chinese sentences and Latin words, with a few terms, phones, a link, claims."""
    planted = [
        *(term.text.upper() for term in rng.sample(terms, 3)),
        "最近",
        "最好",
        "电话 138 0013 8000",
        "".join(chr(ord(digit) + 0xFEE0) for digit in "13912345678"),  # full-width digits
        "详见 www.example.com/offer",
    ]
    pieces, size = [], sum(len(piece.encode()) for piece in planted)
    while size < TEXT_BYTES:
        if rng.random() < 0.75:
            piece = "".join(rng.choices(HANZI, k=rng.randint(4, 15))) + rng.choice(PUNCTUATION)
        else:
            words = ("".join(rng.choices(LATIN + LATIN.upper(), k=rng.randint(2, 8))) for _ in range(3))
            piece = f" {' '.join(words)} "
        pieces.append(piece)
        size += len(piece.encode())
    for piece in planted:
        pieces.insert(rng.randrange(len(pieces)), piece)
    return "".join(pieces)


def timed_ms(work: Callable[[], object], runs: int) -> list[float]:
    work()  # warm caches
    gc.collect()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run() -> dict[str, Any]:
    rng = random.Random(7)
    terms = lexicon_terms(rng)
    started = time.perf_counter()
    lexicon = Lexicon(terms)
    build_ms = (time.perf_counter() - started) * 1000
    text = post(rng, terms)
    verdict = moderate(text, lexicon, ugc=True)
    moderation = summary(timed_ms(lambda: moderate(text, lexicon, ugc=True), RUNS), digits=3)

    folded = fold(text)
    started = time.perf_counter()
    naive = re.compile("|".join(re.escape(fold(term.text)) for term in terms))
    naive_compile_ms = (time.perf_counter() - started) * 1000
    automaton = summary(timed_ms(lambda: lexicon.find_folded(folded), RUNS), digits=3)
    alternation = summary(timed_ms(lambda: naive.findall(folded), NAIVE_RUNS), digits=3)
    return {
        "lexicon_terms": TERMS,
        "lexicon_with_builtin": len(lexicon),
        "text_bytes": len(text.encode()),
        "text_characters": len(text),
        "outcome": verdict.outcome,
        "findings": len(verdict.findings),
        "runs": RUNS,
        "moderate": moderation,
        "target_ms": TARGET_MS,
        "met": moderation["p95_ms"] < TARGET_MS,
        "term_matching": {
            "aho_corasick": automaton | {"runs": RUNS, "build_ms": round(build_ms, 1)},
            "re_alternation": alternation | {"runs": NAIVE_RUNS, "compile_ms": round(naive_compile_ms, 1)},
            "ratio_re_to_aho_corasick": round(alternation["p50_ms"] / automaton["p50_ms"], 1),
        },
    }
