"""Moderation of operator and member text: the detectors (sensitive terms, advertising-law claims, spam, personal
data) exported here; each tenant's lexicon, the screening of items and the review queue beside them."""

from content_svc.moderation.folding import fold
from content_svc.moderation.lexicon import (
    BUILTIN_AD_LAW_TERMS,
    BUILTIN_ALLOWED_TERMS,
    Hit,
    Lexicon,
    Term,
    TermAction,
    TermCategory,
)
from content_svc.moderation.moderator import Finding, FindingKind, Outcome, Verdict, moderate

__all__ = [
    "BUILTIN_AD_LAW_TERMS",
    "BUILTIN_ALLOWED_TERMS",
    "Finding",
    "FindingKind",
    "Hit",
    "Lexicon",
    "Outcome",
    "Term",
    "TermAction",
    "TermCategory",
    "Verdict",
    "fold",
    "moderate",
]
