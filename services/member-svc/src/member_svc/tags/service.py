"""Tags: manual ones operators set, rule tags that follow a rule over attributes and events, and system
tags from analytics (segment and churn risk). Every tag added or removed is a `member.tagged`."""

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import Table, delete, exists, func, insert, literal, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.exceptions import TagOwnedElsewhere, TagRuleNotFound
from member_svc.imports import bulk
from member_svc.members.models import Member
from member_svc.tags.conditions import members_with_facts, rule_clause
from member_svc.tags.models import MemberTag, TagRule
from member_svc.tags.schemas import TagRuleBody
from qunyun_shared.events.member import MemberTaggedV1
from qunyun_shared.outbox import Outbox

TagKind = Literal["manual", "rule", "system"]
CHURN_RISK_TAG = "churn_risk"
SEGMENT_TAG_PREFIX = "segment:"
# Bulk rows go through the Core table: the ORM's bulk path costs several times more per row.
_TAG_ROWS = cast(Table, MemberTag.__table__)


def segment_tag(segment: str) -> str:
    return f"{SEGMENT_TAG_PREFIX}{segment}"


def is_system_tag(tag: str) -> bool:
    return tag == CHURN_RISK_TAG or tag.startswith(SEGMENT_TAG_PREFIX)


async def add_manual(*, session: AsyncSession, outbox: Outbox, tenant_id: str, member_id: uuid.UUID, tag: str) -> bool:
    """Puts an operator's tag on a member; false if it was there. Rule and system tags are not theirs to set."""
    await _check_manual(session, tenant_id, tag)
    added = await _add(session, outbox, tenant_id, [member_id], tag, "manual")
    await apply_rules(session=session, outbox=outbox, tenant_id=tenant_id, member_ids=[member_id])
    return bool(added)


async def remove_manual(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, member_id: uuid.UUID, tag: str
) -> bool:
    """Takes an operator's tag off a member; false if it was not there."""
    await _check_manual(session, tenant_id, tag)
    removed = await _remove(session, outbox, tenant_id, tag, "manual", [member_id])
    await apply_rules(session=session, outbox=outbox, tenant_id=tenant_id, member_ids=[member_id])
    return bool(removed)


async def tag_new_members(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, tagged: Sequence[tuple[uuid.UUID, str]]
) -> None:
    """Operator tags on members created in this transaction (an import), which carry none yet."""
    if not tagged:
        return
    await bulk.insert_tags(session=session, tenant_id=tenant_id, kind="manual", tagged=tagged, now=datetime.now(UTC))
    events = [MemberTaggedV1(member_id=m, tag=t, kind="manual", action="added") for m, t in tagged]
    await outbox.add(session, tenant_id=tenant_id, payloads=events)


async def set_system(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, member_id: uuid.UUID, tag: str, present: bool
) -> None:
    """Adds or removes a system tag as analytics-svc's events say."""
    if present:
        await _add(session, outbox, tenant_id, [member_id], tag, "system")
    else:
        await _remove(session, outbox, tenant_id, tag, "system", [member_id])


async def set_system_on(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, member_ids: Sequence[uuid.UUID], tag: str, present: bool
) -> None:
    """`set_system` for several members at once."""
    if present:
        await _add(session, outbox, tenant_id, member_ids, tag, "system")
    else:
        await _remove(session, outbox, tenant_id, tag, "system", member_ids)


async def tags_of(*, session: AsyncSession, member_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[MemberTag]]:
    """The tags of each member, in tag order."""
    found: dict[uuid.UUID, list[MemberTag]] = {member_id: [] for member_id in member_ids}
    if member_ids:
        query = select(MemberTag).where(MemberTag.member_id.in_(member_ids)).order_by(MemberTag.tag)
        for tag in await session.scalars(query):
            found[tag.member_id].append(tag)
    return found


async def tag_names_of(*, session: AsyncSession, member_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The names of each member's tags, in tag order; plain rows, for showing pages of members."""
    found: dict[uuid.UUID, list[str]] = {member_id: [] for member_id in member_ids}
    if member_ids:
        query = select(MemberTag.member_id, MemberTag.tag).where(MemberTag.member_id.in_(member_ids))
        for member_id, tag in await session.execute(query.order_by(MemberTag.tag)):
            found[member_id].append(tag)
    return found


async def create_rule(*, session: AsyncSession, outbox: Outbox, tenant_id: str, rule_in: TagRuleBody) -> TagRule:
    """Creates a tag rule and tags the members it matches now."""
    await _check_rule_tag(session, tenant_id, rule_in)
    rule = TagRule(tenant_id=tenant_id, **rule_in.model_dump(mode="json"))
    session.add(rule)
    await session.flush()
    await _apply_rule(session, outbox, rule, member_ids=None)
    return rule


async def replace_rule(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, rule_id: uuid.UUID, rule_in: TagRuleBody
) -> TagRule:
    """Changes a rule's conditions (and maybe its tag); members are re-tagged to match."""
    rule = await get_rule(session=session, tenant_id=tenant_id, rule_id=rule_id)
    await _check_rule_tag(session, tenant_id, rule_in, replacing=rule)
    if rule.tag != rule_in.tag:
        await _remove(session, outbox, tenant_id, rule.tag, "rule", None)
    for name, value in rule_in.model_dump(mode="json").items():
        setattr(rule, name, value)
    await session.flush()
    await _apply_rule(session, outbox, rule, member_ids=None)
    return rule


async def delete_rule(*, session: AsyncSession, outbox: Outbox, tenant_id: str, rule_id: uuid.UUID) -> None:
    """Deletes a rule and takes its tag off every member."""
    rule = await get_rule(session=session, tenant_id=tenant_id, rule_id=rule_id)
    await _remove(session, outbox, tenant_id, rule.tag, "rule", None)
    await session.delete(rule)


async def get_rule(*, session: AsyncSession, tenant_id: str, rule_id: uuid.UUID) -> TagRule:
    rule = await session.get(TagRule, rule_id)
    if rule is None or rule.tenant_id != tenant_id:
        raise TagRuleNotFound(f"No tag rule {rule_id}.")
    return rule


async def list_rules(*, session: AsyncSession, tenant_id: str) -> list[TagRule]:
    return list(await session.scalars(select(TagRule).where(TagRule.tenant_id == tenant_id).order_by(TagRule.tag)))


async def carriers(*, session: AsyncSession, tenant_id: str, tag: str) -> int:
    """How many members carry a tag."""
    query = select(func.count()).where(MemberTag.tenant_id == tenant_id, MemberTag.tag == tag)
    return await session.scalar(query) or 0


async def apply_rules(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, member_ids: Collection[uuid.UUID]
) -> None:
    """Re-applies the tenant's rules to members whose attributes or activity just changed."""
    if not member_ids:
        return
    for rule in await list_rules(session=session, tenant_id=tenant_id):
        await _apply_rule(session, outbox, rule, member_ids=member_ids)


async def _apply_rule(
    session: AsyncSession, outbox: Outbox, rule: TagRule, *, member_ids: Collection[uuid.UUID] | None
) -> None:
    """Makes the rule's tag sit on exactly the matching members (of `member_ids`, or of the tenant)."""
    matching = members_with_facts().where(
        Member.tenant_id == rule.tenant_id, Member.erased_at.is_(None), rule_clause(rule)
    )
    if member_ids is not None:
        matching = matching.where(Member.id.in_(member_ids))
    await _remove(session, outbox, rule.tenant_id, rule.tag, "rule", member_ids, keep=matching)
    now = datetime.now(UTC)
    tagged = exists().where(MemberTag.member_id == Member.id, MemberTag.tag == rule.tag)
    newcomers = matching.where(not_(tagged)).with_only_columns(
        Member.id, literal(rule.tag), literal(rule.tenant_id), literal("rule"), literal(now, MemberTag.added_at.type)
    )
    added = await session.scalars(
        insert(MemberTag)
        .from_select(["member_id", "tag", "tenant_id", "kind", "added_at"], newcomers)
        .returning(MemberTag.member_id)
    )
    await _announce(session, outbox, rule.tenant_id, added.all(), rule.tag, "rule", "added")


async def _add(
    session: AsyncSession, outbox: Outbox, tenant_id: str, member_ids: Sequence[uuid.UUID], tag: str, kind: TagKind
) -> list[uuid.UUID]:
    if not member_ids:
        return []
    present = set(
        (
            await session.scalars(
                select(MemberTag.member_id).where(MemberTag.member_id.in_(member_ids), MemberTag.tag == tag)
            )
        ).all()
    )
    new = [member_id for member_id in dict.fromkeys(member_ids) if member_id not in present]
    now = datetime.now(UTC)
    if new:
        rows = [{"member_id": m, "tag": tag, "tenant_id": tenant_id, "kind": kind, "added_at": now} for m in new]
        await session.execute(insert(_TAG_ROWS), rows)
    await _announce(session, outbox, tenant_id, new, tag, kind, "added")
    return new


async def _remove(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    tag: str,
    kind: TagKind,
    member_ids: Collection[uuid.UUID] | None,
    keep: Any = None,
) -> list[uuid.UUID]:
    """Takes the tag off the members named (or all of the tenant's), except those `keep` selects."""
    statement = delete(MemberTag).where(MemberTag.tenant_id == tenant_id, MemberTag.tag == tag, MemberTag.kind == kind)
    if member_ids is not None:
        statement = statement.where(MemberTag.member_id.in_(member_ids))
    if keep is not None:
        statement = statement.where(MemberTag.member_id.not_in(keep))
    removed = list((await session.scalars(statement.returning(MemberTag.member_id))).all())
    await _announce(session, outbox, tenant_id, removed, tag, kind, "removed")
    return removed


async def _announce(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    member_ids: Sequence[uuid.UUID],
    tag: str,
    kind: TagKind,
    action: Literal["added", "removed"],
) -> None:
    events = [MemberTaggedV1(member_id=m, tag=tag, kind=kind, action=action) for m in member_ids]
    await outbox.add(session, tenant_id=tenant_id, payloads=events)


async def _check_manual(session: AsyncSession, tenant_id: str, tag: str) -> None:
    if is_system_tag(tag):
        raise TagOwnedElsewhere(f"Tag {tag!r} is set by analytics, not by hand.", field="tag")
    if await session.scalar(select(TagRule.id).where(TagRule.tenant_id == tenant_id, TagRule.tag == tag)):
        raise TagOwnedElsewhere(f"Tag {tag!r} follows a tag rule; change the rule instead.", field="tag")


async def _check_rule_tag(
    session: AsyncSession, tenant_id: str, rule_in: TagRuleBody, replacing: TagRule | None = None
) -> None:
    """A rule's tag is its own: not a system tag, not already set by hand, not another rule's; and rules
    look only at manual and system tags, so no rule depends on another's outcome."""
    tag = rule_in.tag
    if is_system_tag(tag):
        raise TagOwnedElsewhere(f"Tag {tag!r} is set by analytics.", field="tag")
    owner = await session.scalar(select(TagRule).where(TagRule.tenant_id == tenant_id, TagRule.tag == tag))
    if owner is not None and owner is not replacing:
        raise TagOwnedElsewhere(f"Tag {tag!r} already has a rule.", field="tag")
    manual = select(MemberTag.member_id).where(
        MemberTag.tenant_id == tenant_id, MemberTag.tag == tag, MemberTag.kind == "manual"
    )
    if await session.scalar(manual.limit(1)) is not None:
        raise TagOwnedElsewhere(f"Tag {tag!r} is set by hand on some members.", field="tag")
    rule_tags = set((await session.scalars(select(TagRule.tag).where(TagRule.tenant_id == tenant_id))).all())
    rule_tags.add(tag)
    for condition in rule_in.conditions:
        if condition.field == "has_tag" and condition.value in rule_tags:
            raise TagOwnedElsewhere(f"A rule cannot look at rule tag {condition.value!r}.", field="conditions")
