"""Reading an import's file: the upload's checks, lines back from stored parts, each kind's columns flattened
into the rows its history endpoint takes, batches and what a batch came to."""

import uuid
from collections.abc import Iterator

import pytest

from gateway_svc.imports.exceptions import MalformedImport
from gateway_svc.imports.kinds import SPECS, Kind, Problem, Record
from gateway_svc.imports.ledger import results_of, settle
from gateway_svc.imports.reading import Batch, StoredText, UploadCheck, batches_of, lines_of, records_of
from gateway_svc.imports.service import import_permission, read_permission
from qunyun_shared.history import HistoryBatchRead, RowProblem, RowResult

pytestmark = pytest.mark.unit

ORDERS = (
    "merchant_order_id,merchant_member_id,placed_at,paid_at,coupon_code,discount_fen,product_id,quantity,unit_price_fen\n"
    "TB-1,M1,2025-06-18T20:41:00+08:00,2025-06-18T20:42:10+08:00,618-20OFF,2000,sku-oat,2,5900\n"
    "TB-1,,,,,,sku-cup,1,1900\n"
    "TB-2,M2,2025-07-01T09:00:00+08:00,,,,sku-oat,1,5900\n"
)


def read(kind: Kind, text: str, parts: int = 1) -> list[Record]:
    return list(records_of(SPECS[kind], lines_of(stored(text.encode(), parts))))


def stored(data: bytes, parts: int) -> StoredText:
    """The file split into `parts` pieces, cut anywhere (within a line, within a character)."""
    size = -(-len(data) // parts)
    pieces = [data[i * size : (i + 1) * size] for i in range(parts)]
    return StoredText(lambda number: pieces[number], parts)


def check(kind: Kind, *parts: bytes) -> int:
    upload = UploadCheck(SPECS[kind])
    for part in parts:
        upload.take(part)
    return upload.finish()


def test_an_upload_is_counted_in_lines_after_its_header_whatever_its_parts() -> None:
    assert check(Kind.ORDERS, ORDERS.encode()) == 3
    assert check(Kind.ORDERS, ORDERS.encode().rstrip(b"\n")) == 3
    whole = ("\ufeff" + ORDERS).encode()  # Excel's "CSV UTF-8" starts with a byte order mark
    assert check(Kind.ORDERS, whole[:7], whole[7:60], whole[60:]) == 3


@pytest.mark.parametrize(
    ("kind", "content", "says"),
    [
        (Kind.MEMBERS, "merchant_member_id,nickname\n小雨,x\n".encode("gb18030"), "not UTF-8"),
        (Kind.MEMBERS, b"merchant_member_id,nickname\nM1,\xe5\xb0", "not UTF-8"),
        (Kind.MEMBERS, b"merchant_member_id,nick_name\nM1,x\n", "Unknown columns ['nick_name']"),
        (Kind.MEMBERS, b"merchant_member_id,nickname,nickname\nM1,x,y\n", "appears twice"),
        (Kind.ORDERS, b"merchant_order_id,placed_at,product_id,quantity,unit_price_fen\nT,x,s,1,1\n", "member_id"),
        (Kind.CHECKINS, b"member_id\n", "checked_in_at"),
        (Kind.CONTENT, b"", "empty"),
        (Kind.MEMBERS, b"merchant_member_id,nickname\n", "no lines"),
    ],
)
def test_an_upload_not_utf8_with_a_wrong_header_or_no_lines_is_refused(kind: Kind, content: bytes, says: str) -> None:
    with pytest.raises(MalformedImport) as refused:
        check(kind, content)
    assert says in refused.value.detail


def test_stored_parts_give_back_the_lines_however_the_file_was_cut() -> None:
    text = 'merchant_member_id,nickname,region\nM1,小雨妈妈,上海\r\nM2,"两行\n的名字",北京\n\nM3,阿花,\n'
    for parts in (1, 2, 5, len(text.encode())):
        assert "".join(stored(text.encode(), parts)) == text
    records = read(Kind.MEMBERS, text, parts=7)
    assert [(r.lines, r.row["nickname"]) for r in records] == [([2], "小雨妈妈"), ([3], "两行\n的名字"), ([6], "阿花")]
    assert records[0].row["region"] == "上海" and "region" not in records[2].row


def test_an_order_is_its_consecutive_item_lines_with_its_own_cells_from_the_first() -> None:
    first, second = read(Kind.ORDERS, ORDERS)
    assert (first.lines, first.parts, first.member_ref, first.problems) == ([2, 3], [2, 3], "M1", [])
    assert first.row == {
        "merchant_order_id": "TB-1",
        "placed_at": "2025-06-18T20:41:00+08:00",
        "paid_at": "2025-06-18T20:42:10+08:00",
        "coupon_code": "618-20OFF",
        "discount_fen": 2000,
        "items": [
            {"product_id": "sku-oat", "quantity": 2, "unit_price_fen": 5900},
            {"product_id": "sku-cup", "quantity": 1, "unit_price_fen": 1900},
        ],
    }
    assert (second.lines, second.key, second.row["items"][0]["quantity"]) == ([4], "TB-2", 1)


def test_an_order_line_that_differs_from_its_first_or_holds_no_whole_number_is_that_lines_problem() -> None:
    text = (
        "merchant_order_id,member_id,placed_at,product_id,quantity,unit_price_fen\n"
        f"TB-1,{uuid.UUID(int=1)},2025-06-18T20:41:00+08:00,sku-oat,2,59.00\n"
        f"TB-1,{uuid.UUID(int=2)},,sku-cup,,1900\n"
        "TB-2,,2025-06-18T20:41:00+08:00,sku-oat,1,5900\n"
    )
    first, second = read(Kind.ORDERS, text)
    assert first.row["member_id"] == str(uuid.UUID(int=1)) and first.member_ref is None
    problems = {(p.line, p.field): p.message for p in first.problems}
    assert sorted(problems) == [(2, "unit_price_fen"), (3, "member_id"), (3, "quantity")]
    assert "whole number" in problems[2, "unit_price_fen"] and "line 2" in problems[3, "member_id"]
    assert second.problems == [Problem(4, "merchant_member_id", "is required (or member_id)")]


def test_a_member_is_their_lines_one_per_membership() -> None:
    text = (
        "merchant_member_id,nickname,phone,tags,community_id,joined_at,channel,inviter_merchant_member_id\n"
        "M1,小雨妈妈,13812341234,宝妈|烘焙,c-1,2025-01-02T10:00:00+08:00,qr,\n"
        "M1,,,,c-2,2025-03-04T10:00:00+08:00,invite,M9\n"
        "M2,阿花,,,,,,\n"
        "M3,老王,,,,2025-03-04T10:00:00+08:00,,\n"
        "M1,小雨,,,c-3,,,\n"
    )
    one, two, three, again = read(Kind.MEMBERS, text)
    assert one.row == {
        "merchant_member_id": "M1",
        "nickname": "小雨妈妈",
        "phone": "13812341234",
        "tags": ["宝妈", "烘焙"],
        "memberships": [
            {"community_id": "c-1", "joined_at": "2025-01-02T10:00:00+08:00", "channel": "qr"},
            {
                "community_id": "c-2",
                "joined_at": "2025-03-04T10:00:00+08:00",
                "channel": "invite",
                "inviter_merchant_member_id": "M9",
            },
        ],
    }
    assert (one.lines, one.parts, one.problems) == ([2, 3], [2, 3], [])
    assert two.row["memberships"] == [] and two.problems == []
    assert three.problems == [Problem(5, "community_id", "is required for a membership's other cells")]
    # Apart from its first lines, a member's line begins another record of them (the service finds it differs).
    assert (again.lines, again.key, again.row["nickname"]) == ([6], "M1", "小雨")


def test_check_ins_content_and_engagement_lines_become_their_rows() -> None:
    checkin, nameless = read(Kind.CHECKINS, "merchant_member_id,checked_in_at\nM1,2025-05-01T08:00:00+08:00\n,x\n")
    assert (checkin.row, checkin.member_ref) == ({"checked_in_at": "2025-05-01T08:00:00+08:00"}, "M1")
    assert [p.field for p in nameless.problems] == ["merchant_member_id"]

    content = (
        "merchant_content_id,content_type,title,body,tags,community_ids,target_segments,published_at\n"
        'P-1,knowledge,三分钟早餐,"燕麦 40g,酸奶 150g",早餐|宝妈,c-1|c-2,potential,2025-02-01T08:00:00+08:00\n'
    )
    (item,) = read(Kind.CONTENT, content)
    assert item.row == {
        "merchant_content_id": "P-1",
        "content_type": "knowledge",
        "title": "三分钟早餐",
        "body": "燕麦 40g,酸奶 150g",
        "community_ids": ["c-1", "c-2"],
        "published_at": "2025-02-01T08:00:00+08:00",
        "tags": ["早餐", "宝妈"],
        "target": {"segments": ["potential"]},
    }
    actions = "merchant_action_id,merchant_member_id,merchant_content_id,action,occurred_at\nA1,M1,P-1,like,t\nA2,M1,,read,t\n"
    like, unnamed = read(Kind.ENGAGEMENT, actions)
    assert like.row == {"merchant_action_id": "A1", "action": "like", "occurred_at": "t", "merchant_content_id": "P-1"}
    assert like.member_ref == "M1" and [p.field for p in unnamed.problems] == ["merchant_content_id"]


def test_a_members_profile_lists_and_a_posts_topic_are_read_from_their_cells() -> None:
    text = (
        "merchant_member_id,nickname,persona_tags,active_hours,registered_at,community_id,joined_at,left_at\n"
        "M1,小雨,宝妈|职场新人,20|21,2024-12-01T00:00:00+08:00,c-1,2025-01-02T10:00:00+08:00,2025-05-01T10:00:00+08:00\n"
        "M2,阿花,,7|早上,,,,\n"
    )
    member, bad_hours = read(Kind.MEMBERS, text)
    assert (member.row["persona_tags"], member.row["active_hours"]) == (["宝妈", "职场新人"], [20, 21])
    assert member.row["registered_at"] == "2024-12-01T00:00:00+08:00"
    assert member.row["memberships"][0]["left_at"] == "2025-05-01T10:00:00+08:00"
    assert [(p.field, p.message) for p in bad_hours.problems] == [("active_hours", "is not a whole number: '早上'")]

    posts = (
        "merchant_content_id,merchant_member_id,community_id,kind,body,reply_to_merchant_content_id,posted_at\n"
        "T-1,M1,c-1,contest,晒单,,2025-03-01T20:00:00+08:00\n"
        "T-2,M2,c-1,topic_reply,好看,T-1,2025-03-01T21:00:00+08:00\n"
        f"T-3,{'M' * 65},c-1,contest,x,,2025-03-01T21:00:00+08:00\n"
    )
    topic, reply, unnamed = read(Kind.POSTS, posts)
    assert topic.row == {
        "merchant_content_id": "T-1",
        "community_id": "c-1",
        "kind": "contest",
        "body": "晒单",
        "posted_at": "2025-03-01T20:00:00+08:00",
    }
    assert (topic.member_ref, reply.row["reply_to_merchant_content_id"]) == ("M1", "T-1")
    assert [p.field for p in unnamed.problems] == ["merchant_member_id"] and unnamed.member_ref is None
    assert SPECS[Kind.POSTS].ordered and SPECS[Kind.MEMBERS].ordered and not SPECS[Kind.ENGAGEMENT].ordered


def test_lines_csv_cannot_take_are_their_own_problems_and_blank_lines_are_skipped() -> None:
    text = "merchant_member_id,nickname\nM1,a\n,,\nM2,b,extra\nM3,c,,\nM4,d\x00\n"
    records = read(Kind.MEMBERS, text)
    assert [(r.lines, [p.message for p in r.problems]) for r in records] == [
        ([2], []),
        ([4], ["has 3 cells; the header has 2 columns"]),
        ([5], []),
        ([6], ["holds a NUL character, which no database can store"]),
    ]


def records(count: int, key: str = "M") -> Iterator[Record]:
    for line in range(2, count + 2):
        yield Record(
            [line], f"{key}{line}", {"merchant_member_id": f"{key}{line}", "nickname": "x" * 50}, f"{key}{line}"
        )


def test_batches_hold_at_most_their_rows_and_bytes_and_never_one_id_twice() -> None:
    by_rows = list(batches_of(records(2500), after_line=1, max_rows=1000, max_bytes=1_000_000))
    assert [len(b.records) for b in by_rows] == [1000, 1000, 500]
    assert [(b.first_line, b.last_line) for b in by_rows] == [(2, 1001), (1002, 2001), (2002, 2501)]

    by_bytes = list(batches_of(records(100), after_line=1, max_rows=1000, max_bytes=2000))
    assert all(len(b.records) <= 2000 // 130 for b in by_bytes) and sum(len(b.records) for b in by_bytes) == 100

    repeated = [*records(3), Record([5], "M3", {"merchant_member_id": "M3"}, "M3"), *records(1, key="N")]
    assert [
        [r.first_line for r in b.records] for b in batches_of(repeated, after_line=1, max_rows=9, max_bytes=9999)
    ] == [
        [2, 3, 4],
        [5, 2],
    ]

    resumed = list(batches_of(records(2500), after_line=1001, max_rows=1000, max_bytes=1_000_000))
    assert [(b.first_line, b.last_line) for b in resumed] == [(1002, 2001), (2002, 2501)]


def test_a_batch_settles_each_record_and_puts_the_services_problems_on_their_lines() -> None:
    spec = SPECS[Kind.ORDERS]
    good, bad_item, refused_here = read(
        Kind.ORDERS,
        ORDERS.replace("TB-2,M2", "TB-3,M3").replace("\nTB-3", "\nTB-2,M2,2025-07-01T09:00:00+08:00,,,,a,1,1\nTB-3"),
    )[:3]
    refused_here.problems.append(Problem(5, "merchant_member_id", "no member"))
    sent = [good, bad_item]
    answer = HistoryBatchRead.of(
        [
            RowResult(row=1, outcome="failed", problems=[RowProblem(field="items.0.quantity", message="too many")]),
            RowResult(row=0, id=uuid.UUID(int=7), outcome="created"),
        ]
    )
    answered = results_of(answer.model_dump_json().encode(), rows=2)
    assert answered is not None
    settled = settle(spec=spec, batch=Batch([good, bad_item, refused_here]), sent=sent, answered=answered)
    assert settled.results == [
        [2, "TB-1", str(uuid.UUID(int=7)), "created"],
        [4, "TB-2", None, "failed"],
        [5, "TB-3", None, "failed"],
    ]
    assert settled.errors == [[4, "quantity", "too many"], [5, "merchant_member_id", "no member"]]
    assert settled.counts == {"created": 1, "failed": 2}


@pytest.mark.parametrize(
    "answer",
    [
        b"<html>502</html>",
        b'{"created": 1}',
        b'{"results": [{"row": 0, "id": null, "outcome": "created"}]}',
        b'{"results": [{"row": 1, "id": "x", "outcome": "created"}]}',
        b'{"results": [{"row": 0, "id": "x", "outcome": "created"}, {"row": 0, "id": "y", "outcome": "created"}]}',
        b'{"results": [{"row": 0, "id": "x", "outcome": "moved"}]}',
    ],
)
def test_an_answer_that_is_not_each_rows_result_is_not_taken(answer: bytes) -> None:
    assert results_of(answer, rows=1) is None


def test_importing_needs_what_the_history_endpoint_needs_and_seeing_an_import_what_it_imports() -> None:
    campaign = uuid.uuid4()
    assert [import_permission(kind, campaign if kind == Kind.CHECKINS else None) for kind in Kind] == [
        "members:write",
        "orders:write",
        "campaigns:write",
        "content:write",
        "content:write",
        "content:write",
    ]
    assert [read_permission(kind) for kind in Kind] == [
        "members:read",
        "campaigns:read",
        "campaigns:read",
        "content:read",
        "content:read",
        "content:read",
    ]
