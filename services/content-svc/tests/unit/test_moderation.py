"""Text moderation: the lexicon, advertising-law claims, spam in members' posts, personal data."""

import pytest

from content_svc.moderation import BUILTIN_AD_LAW_TERMS, BUILTIN_ALLOWED_TERMS, Lexicon, Term, fold, moderate

pytestmark = pytest.mark.unit

# A resident ID number with a valid birth date and check character, and the same with a wrong one.
ID_CARD = "11010519491231002X"
ID_CARD_BAD_CHECK = "110105194912310021"
# A valid check character, but born on 30 February.
ID_CARD_BAD_DATE = "440301199002301233"


def wide(text: str) -> str:
    """`text` in full-width characters, as a Chinese input method types them."""
    return "".join(chr(ord(character) + 0xFEE0) if "!" <= character <= "~" else character for character in text)


def spans(text: str, lexicon: Lexicon) -> list[tuple[str, str]]:
    hits = sorted(lexicon.find(text), key=lambda hit: (hit.start, hit.end))
    return [(text[hit.start : hit.end], hit.term.text) for hit in hits]


def kinds(text: str, lexicon: Lexicon, *, ugc: bool) -> list[str]:
    return [finding.kind for finding in moderate(text, lexicon, ugc=ugc).findings]


@pytest.fixture
def lexicon() -> Lexicon:
    return Lexicon([Term("赌博"), Term("Casino", action="mask"), Term("代购", action="mask")])


def test_folding_keeps_every_index_and_folds_width_and_case() -> None:
    text = wide("ABC 123") + "\u3000\u0130stanbul 中文 Ünïcode 😀"
    folded = fold(text)
    assert folded == "abc 123 istanbul 中文 ünïcode 😀"
    assert len(folded) == len(text)


def test_chinese_and_latin_terms_are_found_at_their_place_in_the_original_text(lexicon: Lexicon) -> None:
    text = "今晚" + wide("CASINO") + "里没有赌博, casino 也没有"
    assert spans(text, lexicon) == [(wide("CASINO"), "Casino"), ("赌博", "赌博"), ("casino", "Casino")]


def test_overlapping_terms_are_all_reported() -> None:
    lexicon = Lexicon([Term("海外代购"), Term("代购"), Term("购物")], with_builtin=False)
    assert spans("海外代购物品", lexicon) == [("海外代购", "海外代购"), ("代购", "代购"), ("购物", "购物")]


def test_an_allowed_word_hides_the_claims_inside_it_but_not_those_beside_it() -> None:
    lexicon = Lexicon([])
    assert spans("最近上新", lexicon) == []
    assert spans("第一次下单", lexicon) == []
    assert spans("最近最好", lexicon) == [("最", "最"), ("最好", "最好")]


def test_a_tenant_term_overrides_the_builtin_of_the_same_folded_text() -> None:
    lexicon = Lexicon([Term("首选", category="allow"), Term("NO.1", action="mask")])
    assert spans("首选好物", lexicon) == []
    found = [(hit.start, hit.end, hit.term) for hit in lexicon.find(wide("no.1"))]
    assert found == [(0, 4, Term("NO.1", action="mask"))]


def test_duplicate_terms_collapse_and_empty_ones_are_dropped() -> None:
    lexicon = Lexicon([Term("赌博"), Term("赌博"), Term("ABC"), Term("abc"), Term("  ")], with_builtin=False)
    assert len(lexicon) == 2
    builtin = len(BUILTIN_AD_LAW_TERMS) + len(BUILTIN_ALLOWED_TERMS)
    assert len(Lexicon([])) == builtin
    assert len(Lexicon([Term("最好", action="mask"), Term("首选", category="allow")])) == builtin


def test_empty_and_clean_texts_pass_unchanged(lexicon: Lexicon) -> None:
    for text in ("", "今天天气不错, 大家早上好"):
        verdict = moderate(text, lexicon, ugc=True)
        assert (verdict.outcome, verdict.text, verdict.findings, verdict.reasons) == ("pass", text, (), [])


def test_a_masked_term_is_starred_and_a_held_one_holds_the_text(lexicon: Lexicon) -> None:
    masked = moderate("找我代购, Casino 也行", lexicon, ugc=False)
    assert (masked.outcome, masked.text) == ("mask", "找我**, ****** 也行")
    assert masked.reasons == ['sensitive term "代购"', 'sensitive term "Casino"']

    held = moderate("代购和赌博", lexicon, ugc=True)
    assert (held.outcome, held.text) == ("hold", "**和赌博")
    assert [(finding.kind, finding.action) for finding in held.findings] == [
        ("sensitive", "mask"),
        ("sensitive", "hold"),
    ]


def test_overlapping_masked_terms_star_their_union() -> None:
    lexicon = Lexicon([Term("海外代", action="mask"), Term("代购", action="mask")], with_builtin=False)
    assert moderate("去海外代购吧", lexicon, ugc=True).text == "去****吧"


def test_advertising_law_claims_hold_the_brands_content_but_not_members_posts(lexicon: Lexicon) -> None:
    brand = moderate("最近上新: 全网最好的面霜", lexicon, ugc=False)
    assert brand.outcome == "hold"
    assert brand.reasons == ['advertising-law absolute term "最"', 'advertising-law absolute term "最好"']
    assert moderate("最近上新: 全网最好的面霜", lexicon, ugc=True).outcome == "pass"
    for allowed in ("最近上新, 第一次下单有礼", "你最喜欢哪一款?"):
        assert moderate(allowed, lexicon, ugc=False).outcome == "pass", allowed


def test_phone_numbers_are_masked_in_any_text_and_never_named_in_reasons(lexicon: Lexicon) -> None:
    cases = {
        "电话13800138000": "电话138****8000",
        "电话 138 0013 8000 找我": "电话 138 **** 8000 找我",
        "+86-139-1234-5678": "+86-139-****-5678",
        "+8613912345678": "+86139****5678",
        wide("13800138000"): wide("138") + "****" + wide("8000"),
    }
    for ugc in (False, True):
        for text, masked in cases.items():
            verdict = moderate(text, lexicon, ugc=ugc)
            assert (verdict.outcome, verdict.text, verdict.reasons) == ("mask", masked, ["phone number"])
            assert not any("8000" in reason or "5678" in reason for reason in verdict.reasons)


def test_digits_that_only_look_like_a_phone_number_are_left_alone(lexicon: Lexicon) -> None:
    for text in ("订单号 2138001380001", "12345678901", "138001380009", "10086", "电话12800138000"):
        assert moderate(text, lexicon, ugc=True).outcome == "pass", text


def test_id_card_numbers_with_a_valid_date_and_check_character_are_masked(lexicon: Lexicon) -> None:
    verdict = moderate(f"身份证 {ID_CARD.lower()} 请核对", lexicon, ugc=False)
    assert (verdict.outcome, verdict.text) == ("mask", "身份证 1101**********002x 请核对")
    assert verdict.reasons == ["ID-card number"]
    assert moderate(wide(ID_CARD), lexicon, ugc=True).text == wide("1101") + "*" * 10 + wide("002X")
    for text in (ID_CARD_BAD_CHECK, ID_CARD_BAD_DATE, f"9{ID_CARD}", ID_CARD[:-1]):
        assert moderate(text, lexicon, ugc=True).outcome == "pass", text


@pytest.mark.parametrize(
    "post",
    [
        "看这里 https://shop.example/item?id=1",
        "官网 www.example.net",
        "戳abc.com领券",
        "短链 t.cn/A6xYz",
        "abc。com 加群",
        wide("WWW.EXAMPLE.COM"),
    ],
)
def test_links_hold_members_posts_only(lexicon: Lexicon, post: str) -> None:
    assert kinds(post, lexicon, ugc=True) == ["link"]
    assert moderate(post, lexicon, ugc=False).outcome == "pass"


def test_words_with_dots_are_not_links(lexicon: Lexicon) -> None:
    for post in ("see abc.community and v1.2.3", ".com alone", "e.g. readme.md"):
        assert moderate(post, lexicon, ugc=True).outcome == "pass", post


def test_qr_code_solicitation_holds_members_posts_only(lexicon: Lexicon) -> None:
    for post in ("扫码进群领福利", "长按识别图中二维码", "scan the QR code"):
        assert kinds(post, lexicon, ugc=True) == ["qr_code"], post
        assert moderate(post, lexicon, ugc=False).outcome == "pass"


@pytest.mark.parametrize(
    "post",
    [
        "想要的加V私聊",
        "加微信",
        "加我 vx",
        wide("VX:") + "seller_88",
        "wx: abc_123",
        "微信号是 wxid888",
        "QQ号 12345678",
        "telegram: @seller_1",
    ],
)
def test_contact_handles_hold_members_posts_only(lexicon: Lexicon, post: str) -> None:
    verdict = moderate(post, lexicon, ugc=True)
    assert [finding.kind for finding in verdict.findings] == ["contact"]
    assert verdict.reasons == ["contact handle"]
    assert moderate(post, lexicon, ugc=False).outcome == "pass"


def test_everyday_words_near_messenger_names_are_not_contacts(lexicon: Lexicon) -> None:
    for post in ("加vip群更优惠", "增加了库存", "微信支付可以吗", "qq音乐很好听", "envx12345"):
        assert moderate(post, lexicon, ugc=True).outcome == "pass", post


def test_a_repeated_post_is_held_as_a_whole(lexicon: Lexicon) -> None:
    verdict = moderate("好物推荐", lexicon, ugc=True, repeated=True)
    assert verdict.outcome == "hold"
    assert [(finding.kind, finding.start, finding.end) for finding in verdict.findings] == [("repeated", 0, 4)]
    assert moderate("好物推荐", lexicon, ugc=False, repeated=True).outcome == "pass"


def test_a_held_post_still_has_its_personal_data_masked_and_reasons_once_each(lexicon: Lexicon) -> None:
    verdict = moderate("加V 13800138000, 再加V, 或 13912345678", lexicon, ugc=True)
    assert verdict.outcome == "hold"
    assert verdict.text == "加V 138****8000, 再加V, 或 139****5678"
    assert verdict.reasons == ["contact handle", "phone number"]
