"""Moderation of one text: which checks apply to whose text, what each finding asks for, the masked text."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from content_svc.moderation import personal_data, spam
from content_svc.moderation.folding import fold
from content_svc.moderation.lexicon import Hit, Lexicon, TermAction

Outcome = Literal["pass", "mask", "hold"]
FindingKind = Literal["sensitive", "ad_law", "link", "qr_code", "contact", "phone", "id_card", "repeated"]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    start: int
    end: int
    action: TermAction
    reason: str  # for operators; names what was found, never the personal data itself


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    text: str  # every "mask" finding masked; the original text when nothing was found
    findings: tuple[Finding, ...]

    @property
    def reasons(self) -> list[str]:
        """Each distinct reason once, in the order the findings first give it."""
        return list(dict.fromkeys(finding.reason for finding in self.findings))


_REASONS: dict[FindingKind, str] = {
    "phone": "phone number",
    "id_card": "ID-card number",
    "link": "link",
    "qr_code": "QR-code solicitation",
    "contact": "contact handle",
    "repeated": "repeated message",
}


def moderate(text: str, lexicon: Lexicon, *, ugc: bool, repeated: bool = False) -> Verdict:
    """Pass, mask or hold `text`: `ugc` for a member's post rather than the brand's content, `repeated`
    when that member has already posted the same text."""
    folded = fold(text)
    # Personal data is masked wherever it appears, in the brand's content as in members' posts.
    findings = [
        *_term_findings(lexicon.find_folded(folded), ugc=ugc),
        *_found(personal_data.identifiers(folded), "mask"),
    ]
    # Advertising is what members' posts may not carry; the brand's own content links and shows QR codes.
    if ugc:
        findings += _found(spam.advertising(folded), "hold")
        if repeated:
            findings.append(Finding("repeated", 0, len(text), "hold", _REASONS["repeated"]))
    if not findings:
        return Verdict("pass", text, ())
    findings.sort(key=lambda finding: (finding.start, finding.end))
    outcome: Outcome = "hold" if any(finding.action == "hold" for finding in findings) else "mask"
    return Verdict(outcome, _masked(text, folded, findings), tuple(findings))


def _term_findings(hits: list[Hit], *, ugc: bool) -> Iterator[Finding]:
    for hit in hits:
        term = hit.term
        if term.category == "sensitive":
            yield Finding("sensitive", hit.start, hit.end, term.action, f'sensitive term "{term.text}"')
        # The Advertising Law binds the merchant's claims, not what members say.
        elif not ugc:
            yield Finding("ad_law", hit.start, hit.end, term.action, f'advertising-law absolute term "{term.text}"')


def _found(spans: Iterable[tuple[FindingKind, int, int]], action: TermAction) -> Iterator[Finding]:
    for kind, start, end in spans:
        yield Finding(kind, start, end, action, _REASONS[kind])


def _masked(text: str, folded: str, findings: list[Finding]) -> str:
    """`text` with the hidden positions starred, rebuilt from slices: a list of every character of a
    10 KB text and its join cost more than all the matching."""
    hidden = sorted(
        {position for finding in findings if finding.action == "mask" for position in _hidden(folded, finding)}
    )
    pieces: list[str] = []
    shown_from = 0
    for position in hidden:
        pieces += (text[shown_from:position], "*")
        shown_from = position + 1
    pieces.append(text[shown_from:])
    return "".join(pieces)


def _hidden(folded: str, finding: Finding) -> Iterable[int]:
    """The positions a mask finding stars: all of a term, the middle digits of a number."""
    kept = personal_data.KEPT_DIGITS.get(finding.kind)
    if kept is None:
        return range(finding.start, finding.end)
    return personal_data.hidden_positions(folded, finding.start, finding.end, kept=kept)
