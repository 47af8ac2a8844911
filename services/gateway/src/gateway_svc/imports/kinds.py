"""The kinds of history a file can hold: each kind's CSV columns, how its lines become the rows its service's
history endpoint takes, and where that endpoint is.

Nested values are flattened the way shop systems export them: one line per order item, the order's own
cells repeated (or left blank) on its other lines; one line per community membership of a member, the
profile likewise. The lines of one order (one member) follow each other. Lists inside a cell (tags, media,
communities) are separated by `|`. Members are named by the merchant's id (`merchant_member_id`, looked up
in member-svc) or by ours (`member_id`).
"""

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gateway_svc.imports.exceptions import MalformedImport
from gateway_svc.proxy import naming

LIST_SEPARATOR = "|"
MEMBER_COLUMNS = ("merchant_member_id", "member_id")


class Kind(StrEnum):
    MEMBERS = "members"
    ORDERS = "orders"
    CHECKINS = "checkins"
    CONTENT = "content"
    ENGAGEMENT = "engagement"
    POSTS = "posts"


# Not frozen: a frozen dataclass costs four times as much to make, and a file makes one per line.
@dataclass(slots=True)
class Line:
    """One line of the file (or a record spanning several, numbered by its first), its cells by column."""

    number: int
    cells: Mapping[str, str]
    error: str | None = None


@dataclass(slots=True)
class Problem:
    line: int
    field: str | None
    message: str


@dataclass(slots=True)
class Record:
    """One row for the service, from one line or from the consecutive lines of one order or member."""

    lines: list[int]
    merchant_id: str | None
    row: dict[str, Any]
    key: str | None = None
    """What makes two records the same one (the merchant's id): never two of them in one batch."""
    member_ref: str | None = None
    """The merchant_member_id to look up; the row's member_id once found."""
    parts: list[int] = field(default_factory=list)
    """The line of each nested value (membership, item), in the order of the row's list."""
    problems: list[Problem] = field(default_factory=list)

    @property
    def first_line(self) -> int:
        return self.lines[0]

    @property
    def last_line(self) -> int:
        return self.lines[-1]


@dataclass(frozen=True, slots=True)
class KindSpec:
    rows: str
    """The name of the rows' list in the history endpoint's body."""
    endpoint: str
    """The endpoint, below /api/v1/ (`{campaign_id}` filled in for check-ins)."""
    columns: tuple[str, ...]
    required: tuple[str, ...]
    one_of: tuple[tuple[str, ...], ...]
    """Groups of columns of which the header names at least one."""
    build: Callable[[Sequence[Line]], Record]
    group_by: str | None = None
    nested: str | None = None
    renamed: Mapping[str, str] = field(default_factory=dict)
    """Fields of the row by the column they came from, where the names differ."""
    ordered: bool = False
    """Batches go one after another: a row may name a record of an earlier one (an inviter, a topic)."""

    def path(self, campaign_id: uuid.UUID | None) -> str:
        return self.endpoint.format(campaign_id=campaign_id)

    def check_header(self, names: Sequence[str]) -> None:
        """Refuses a header naming an unknown column, a column twice, or missing a column the kind needs."""
        unknown = [name for name in names if name not in self.columns]
        if unknown:
            raise MalformedImport(f"Unknown columns {unknown}; the columns of {self.rows} are {list(self.columns)}.")
        if len(set(names)) != len(names):
            raise MalformedImport("A column appears twice in the header.")
        missing = [name for name in self.required if name not in names]
        missing += [" or ".join(group) for group in self.one_of if not set(group) & set(names)]
        if missing:
            raise MalformedImport(f"The header lacks the columns {missing}.")

    def locate(self, record: Record, field_name: str | None) -> tuple[int, str | None]:
        """The line and column a problem the service found with a row's field belongs to."""
        if field_name and self.nested and field_name.startswith(self.nested + "."):
            _, index, *rest = field_name.split(".")
            if index.isdigit() and int(index) < len(record.parts):
                return record.parts[int(index)], ".".join(rest) or None
        return record.first_line, self.renamed.get(field_name or "", field_name)


def split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(LIST_SEPARATOR) if part.strip()]


def _copy(row: dict[str, Any], cells: Mapping[str, str], names: Sequence[str]) -> None:
    for name in names:
        if value := cells.get(name):
            row[name] = value


def _require(cells: Mapping[str, str], names: Sequence[str], line: int, problems: list[Problem]) -> None:
    for name in names:
        if not cells.get(name):
            problems.append(Problem(line, name, "is required"))


def _whole(cells: Mapping[str, str], name: str, line: int, problems: list[Problem]) -> int | None:
    return _number(cells.get(name, ""), name, line, problems)


def _number(value: str, name: str, line: int, problems: list[Problem]) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        problems.append(Problem(line, name, f"is not a whole number: {value!r}"))
        return None


def _member(row: dict[str, Any], cells: Mapping[str, str], line: int, problems: list[Problem]) -> str | None:
    """Puts the member's id in the row, or answers the merchant's id to look up."""
    ours, merchants = cells.get("member_id", ""), cells.get("merchant_member_id", "")
    if ours and merchants:
        problems.append(Problem(line, "member_id", "give member_id or merchant_member_id, not both"))
    elif ours:
        row["member_id"] = ours
    elif merchants and (problem := naming.malformed(merchants)) is not None:
        problems.append(Problem(line, "merchant_member_id", problem))
    elif merchants:
        return merchants
    else:
        problems.append(Problem(line, "merchant_member_id", "is required (or member_id)"))
    return None


def _same_on_every_line(lines: Sequence[Line], names: Sequence[str], what: str) -> list[Problem]:
    """A record's own cells come from its first line; on its other lines they are blank or the same."""
    first = lines[0]
    return [
        Problem(line.number, name, f"differs from line {first.number}, where this {what} begins")
        for line in lines[1:]
        for name in names
        if line.cells.get(name) and line.cells.get(name) != first.cells.get(name, "")
    ]


_PROFILE = (
    "nickname",
    "phone",
    "gender",
    "age_band",
    "birthday",
    "region",
    "registered_at",
    "persona_tags",
    "active_hours",
    "tags",
)
_MEMBERSHIP = ("community_id", "joined_at", "channel", "inviter_merchant_member_id", "left_at")


def member_of(lines: Sequence[Line]) -> Record:
    """A member and their memberships, one line per membership (a line without community_id: none)."""
    first = lines[0]
    problems: list[Problem] = []
    _require(first.cells, ("merchant_member_id", "nickname"), first.number, problems)
    merchant_id = first.cells.get("merchant_member_id", "")
    row: dict[str, Any] = {"merchant_member_id": merchant_id, "nickname": first.cells.get("nickname", "")}
    _copy(row, first.cells, _PROFILE[1:7])
    for name in ("persona_tags", "tags"):
        if values := split(first.cells.get(name, "")):
            row[name] = values
    if hours := split(first.cells.get("active_hours", "")):
        row["active_hours"] = [_number(hour, "active_hours", first.number, problems) for hour in hours]
    problems += _same_on_every_line(lines, _PROFILE, "member")
    memberships, parts = [], []
    for line in lines:
        if line.cells.get("community_id"):
            membership: dict[str, Any] = {}
            _copy(membership, line.cells, _MEMBERSHIP)
            memberships.append(membership)
            parts.append(line.number)
        elif any(line.cells.get(name) for name in _MEMBERSHIP[1:]):
            problems.append(Problem(line.number, "community_id", "is required for a membership's other cells"))
    row["memberships"] = memberships
    numbers = [line.number for line in lines]
    return Record(numbers, merchant_id or None, row, merchant_id or None, parts=parts, problems=problems)


_ORDER = (
    *MEMBER_COLUMNS,
    "community_id",
    "placed_at",
    "paid_at",
    "coupon_code",
    "discount_fen",
    "refunded_at",
    "refund_fen",
)
_ITEM = ("product_id", "quantity", "unit_price_fen")


def order_of(lines: Sequence[Line]) -> Record:
    """An order and its items, one line per item."""
    first = lines[0]
    problems: list[Problem] = []
    _require(first.cells, ("merchant_order_id", "placed_at"), first.number, problems)
    merchant_id = first.cells.get("merchant_order_id", "")
    row: dict[str, Any] = {"merchant_order_id": merchant_id}
    member_ref = _member(row, first.cells, first.number, problems)
    _copy(row, first.cells, ("community_id", "placed_at", "paid_at", "coupon_code", "refunded_at"))
    for name in ("discount_fen", "refund_fen"):
        if (amount := _whole(first.cells, name, first.number, problems)) is not None:
            row[name] = amount
    problems += _same_on_every_line(lines, _ORDER, "order")
    items = []
    for line in lines:
        _require(line.cells, _ITEM, line.number, problems)
        quantity, price = (_whole(line.cells, name, line.number, problems) for name in _ITEM[1:])
        items.append({"product_id": line.cells.get("product_id", ""), "quantity": quantity, "unit_price_fen": price})
    row["items"] = items
    numbers = [line.number for line in lines]
    return Record(numbers, merchant_id or None, row, merchant_id or None, member_ref, numbers, problems)


def checkin_of(lines: Sequence[Line]) -> Record:
    """A member's check-in."""
    (line,) = lines
    problems: list[Problem] = []
    _require(line.cells, ("checked_in_at",), line.number, problems)
    row: dict[str, Any] = {"checked_in_at": line.cells.get("checked_in_at", "")}
    member_ref = _member(row, line.cells, line.number, problems)
    key = f"{row.get('member_id', member_ref)}@{row['checked_in_at']}"
    return Record([line.number], None, row, key, member_ref, problems=problems)


_CONTENT_REQUIRED = ("merchant_content_id", "content_type", "title", "community_ids", "published_at")


def content_of(lines: Sequence[Line]) -> Record:
    """An item as it was published: to which communities, and when."""
    (line,) = lines
    cells = line.cells
    problems: list[Problem] = []
    _require(cells, _CONTENT_REQUIRED, line.number, problems)
    merchant_id = cells.get("merchant_content_id", "")
    row: dict[str, Any] = {name: cells.get(name, "") for name in ("merchant_content_id", "content_type", "title")}
    row |= {"body": cells.get("body", ""), "community_ids": split(cells.get("community_ids", ""))}
    _copy(row, cells, ("source", "published_at"))
    for name in ("tags", "media"):
        if values := split(cells.get(name, "")):
            row[name] = values
    target = {name: values for name in ("segments", "tags") if (values := split(cells.get(f"target_{name}", "")))}
    if target:
        row["target"] = target
    return Record([line.number], merchant_id or None, row, merchant_id or None, problems=problems)


_ACTION = (
    "merchant_action_id",
    *MEMBER_COLUMNS,
    "content_id",
    "merchant_content_id",
    "community_id",
    "action",
    "occurred_at",
)


def action_of(lines: Sequence[Line]) -> Record:
    """A member's action on an item (a view, like, comment, ...)."""
    (line,) = lines
    cells = line.cells
    problems: list[Problem] = []
    _require(cells, ("merchant_action_id", "action", "occurred_at"), line.number, problems)
    if not (cells.get("content_id") or cells.get("merchant_content_id")):
        problems.append(Problem(line.number, "merchant_content_id", "is required (or content_id)"))
    merchant_id = cells.get("merchant_action_id", "")
    row: dict[str, Any] = {name: cells.get(name, "") for name in ("merchant_action_id", "action", "occurred_at")}
    member_ref = _member(row, cells, line.number, problems)
    _copy(row, cells, ("content_id", "merchant_content_id", "community_id"))
    return Record([line.number], merchant_id or None, row, merchant_id or None, member_ref, problems=problems)


_POST_REQUIRED = ("merchant_content_id", "community_id", "kind", "body", "posted_at")
_POST = (*_POST_REQUIRED, *MEMBER_COLUMNS, "title", "media", "tags", "reply_to", "reply_to_merchant_content_id")


def post_of(lines: Sequence[Line]) -> Record:
    """A member's post into a community, as it was posted then; a reply names its topic."""
    (line,) = lines
    cells = line.cells
    problems: list[Problem] = []
    _require(cells, _POST_REQUIRED, line.number, problems)
    merchant_id = cells.get("merchant_content_id", "")
    row: dict[str, Any] = {name: cells.get(name, "") for name in _POST_REQUIRED}
    member_ref = _member(row, cells, line.number, problems)
    _copy(row, cells, ("title", "reply_to", "reply_to_merchant_content_id"))
    for name in ("media", "tags"):
        if values := split(cells.get(name, "")):
            row[name] = values
    return Record([line.number], merchant_id or None, row, merchant_id or None, member_ref, problems=problems)


SPECS: Mapping[Kind, KindSpec] = {
    Kind.MEMBERS: KindSpec(
        rows="members",
        endpoint="members/history",
        columns=("merchant_member_id", *_PROFILE, *_MEMBERSHIP),
        required=("merchant_member_id", "nickname"),
        one_of=(),
        build=member_of,
        group_by="merchant_member_id",
        nested="memberships",
        ordered=True,
    ),
    Kind.ORDERS: KindSpec(
        rows="orders",
        endpoint="campaigns/orders/history",
        columns=("merchant_order_id", *_ORDER, *_ITEM),
        required=("merchant_order_id", "placed_at", *_ITEM),
        one_of=(MEMBER_COLUMNS,),
        build=order_of,
        group_by="merchant_order_id",
        nested="items",
    ),
    Kind.CHECKINS: KindSpec(
        rows="checkins",
        endpoint="campaigns/{campaign_id}/checkins/history",
        columns=(*MEMBER_COLUMNS, "checked_in_at"),
        required=("checked_in_at",),
        one_of=(MEMBER_COLUMNS,),
        build=checkin_of,
    ),
    Kind.CONTENT: KindSpec(
        rows="items",
        endpoint="content/items/history",
        columns=(*_CONTENT_REQUIRED, "body", "source", "tags", "media", "target_segments", "target_tags"),
        required=_CONTENT_REQUIRED,
        one_of=(),
        build=content_of,
        renamed={"target.segments": "target_segments", "target.tags": "target_tags"},
    ),
    Kind.ENGAGEMENT: KindSpec(
        rows="actions",
        endpoint="content/engagement/history",
        columns=_ACTION,
        required=("merchant_action_id", "action", "occurred_at"),
        one_of=(MEMBER_COLUMNS, ("merchant_content_id", "content_id")),
        build=action_of,
    ),
    Kind.POSTS: KindSpec(
        rows="posts",
        endpoint="content/posts/history",
        columns=_POST,
        required=_POST_REQUIRED,
        one_of=(MEMBER_COLUMNS,),
        build=post_of,
        ordered=True,
    ),
}
