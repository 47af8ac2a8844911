"""Advertising in members' posts, found in folded text: links, QR-code solicitation, contact handles.

One Aho-Corasick pass finds every keyword that can open (or, for bare domains, close) such a span; a short
anchored pattern then widens each into its span. One regex scan of the whole text per pattern measured ~4x slower.
"""

import re
from collections.abc import Iterable, Iterator
from string import ascii_lowercase
from typing import Literal

import ahocorasick_rs

SpamKind = Literal["link", "qr_code", "contact"]
_Role = Literal["scheme", "domain", "qr_code", "messenger", "ask"]

_TOP_LEVEL_DOMAINS = (
    "com", "cn", "net", "org", "top", "xyz", "vip", "cc", "co", "io", "me", "tv", "app", "info", "shop",
    "club", "site", "online", "store", "link", "ly", "gl", "ink", "wang", "ltd", "icu", "fun", "hk", "tw",
)  # fmt: skip
_MESSENGERS = (
    "微信", "威信", "薇信", "微号", "扣扣", "企鹅", "v信", "vx", "wx", "weixin", "wechat", "qq", "tg", "telegram",
    "whatsapp",
)  # fmt: skip
_QR_PHRASES = ("扫码", "扫一扫", "二维码", "qr code", "qrcode", "长按识别", "长按扫描", "识别图中")
_KEYWORDS: tuple[tuple[str, _Role], ...] = (
    *((scheme, "scheme") for scheme in ("http://", "https://", "www.")),
    # "。" counts as a dot: "abc。com" is how links slip past naive filters.
    *((dot + domain, "domain") for dot in ".。" for domain in _TOP_LEVEL_DOMAINS),
    *((phrase, "qr_code") for phrase in _QR_PHRASES),
    *((messenger, "messenger") for messenger in _MESSENGERS),
    ("加", "ask"),
)
_ROLES = [role for _, role in _KEYWORDS]
_TRIGGERS = ahocorasick_rs.AhoCorasick(keyword for keyword, _ in _KEYWORDS)

_URL_REST = re.compile(r"[!-~]*")
# After a top-level domain: not more of a name (abc.community), then an optional port, path or query.
_DOMAIN_REST = re.compile(r"(?![a-z0-9-])(?:[/:?#][!-~]*)?")
_HOST_CHARACTERS = frozenset(ascii_lowercase + "0123456789-.。")
# After a messenger's name, an id: "VX: abc_123", "微信号是 wxid888", "qq 12345678", "telegram: @seller".
_HANDLE = re.compile(r"\s*(?:号码|号|id)?\s*[:=是]?\s*@?[a-z0-9][a-z0-9_-]{4,19}")
# After 加: 加微信, 加V, 加我vx: the ask itself needs no id. "v" and "q" must end the word (加vip asks nothing).
_ASK = re.compile(r"\s*我?\s*(?:微信|v信|vx|wx|qq|扣扣|企鹅|v|q)(?![a-z])")
_LATIN = frozenset(ascii_lowercase)


def advertising(folded: str) -> Iterator[tuple[SpamKind, int, int]]:
    """Spans of links, QR-code invitations and contact handles; overlapping spans of one kind as one."""
    spans: dict[SpamKind, list[tuple[int, int]]] = {"link": [], "qr_code": [], "contact": []}
    # Keywords inside the last link found add nothing to it; skipping them, and never widening a host back
    # over that link, keeps texts like "http://a" * 1000 or "a.cn/a.cn/..." linear.
    link_end = 0
    for index, start, end in _TRIGGERS.find_matches_as_indexes(folded, overlapping=True):
        role = _ROLES[index]
        if role in ("scheme", "domain"):
            if start >= link_end and (link := _link(folded, role, start, end, floor=link_end)):
                spans["link"].append(link)
                link_end = link[1]
        elif role == "qr_code":
            spans["qr_code"].append((start, end))
        elif role == "messenger":
            if handle := _handle(folded, start, end):
                spans["contact"].append(handle)
        elif ask := _ASK.match(folded, end):  # the one role left: 加
            spans["contact"].append((start, ask.end()))
    for kind, found in spans.items():
        for start, end in _merged(found):
            yield kind, start, end


def _link(folded: str, role: _Role, start: int, end: int, *, floor: int) -> tuple[int, int] | None:
    if role == "scheme":
        rest = _URL_REST.match(folded, end)
        return start, rest.end() if rest else end
    return _bare_domain(folded, start, end, floor=floor)


def _bare_domain(folded: str, dot: int, end: int, *, floor: int) -> tuple[int, int] | None:
    rest = _DOMAIN_REST.match(folded, end)
    if rest is None:
        return None
    host = dot
    while host > floor and folded[host - 1] in _HOST_CHARACTERS:
        host -= 1
    while host < dot and not folded[host].isalnum():  # a host opens on a letter or digit
        host += 1
    return (host, rest.end()) if host < dot else None  # ".com" alone names no host


def _handle(folded: str, start: int, end: int) -> tuple[int, int] | None:
    if start > 0 and folded[start] in _LATIN and folded[start - 1] in _LATIN:
        return None  # the tail of a longer Latin word: "nvx", "sqq"
    handle = _HANDLE.match(folded, end)
    return (start, handle.end()) if handle else None


def _merged(spans: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Overlapping or touching spans as one: a spelled-out link is also a bare domain, 加微信abc123 an ask
    and a handle, 长按识别图中二维码 three invitations."""
    current: tuple[int, int] | None = None
    for start, end in sorted(spans):
        if current is not None and start <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current is not None:
            yield current
        current = (start, end)
    if current is not None:
        yield current
