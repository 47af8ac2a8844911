"""Tag rules' conditions as SQL over members, their activity and their points account."""

import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select

from member_svc.communities.models import Membership
from member_svc.members.models import Member, MemberActivity
from member_svc.points.models import PointsAccount
from member_svc.tags.models import MemberTag, TagRule
from member_svc.tags.schemas import Condition


def condition_clause(condition: Condition) -> ColumnElement[bool]:
    """A rule condition as SQL over members, their activity and their points account."""
    field, op, value = condition.field, condition.op, condition.value
    if field == "has_tag":
        has = exists().where(MemberTag.member_id == Member.id, MemberTag.tag == value)
        return has if op == "eq" else not_(has)
    if field == "in_community":
        inside = exists().where(Membership.member_id == Member.id, Membership.community_id == uuid.UUID(str(value)))
        return inside if op == "eq" else not_(inside)
    column = _RULE_COLUMNS[field]
    if op == "in":
        assert isinstance(value, list)
        within: ColumnElement[bool] = column.in_(value)
        return within
    compare = {
        "eq": column.__eq__,
        "ne": column.__ne__,
        "gt": column.__gt__,
        "gte": column.__ge__,
        "lt": column.__lt__,
        "lte": column.__le__,
    }[op]
    clause: ColumnElement[bool] = compare(value)
    if op == "ne":  # SQL's NULL <> x is not true: a member without a region is not in 上海 either
        clause = or_(clause, column.is_(None))
    return clause


def rule_clause(rule: TagRule) -> ColumnElement[bool]:
    """The rule's conditions as one SQL condition: all of them, or any of them."""
    conditions = [condition_clause(Condition.model_validate(c)) for c in rule.conditions]
    return and_(*conditions) if rule.match == "all" else or_(*conditions)


def members_with_facts() -> Any:
    """Members joined to what rules look at (activity and points), for a WHERE of rule clauses."""
    return (
        select(Member.id)
        .outerjoin(MemberActivity, MemberActivity.member_id == Member.id)
        .outerjoin(PointsAccount, PointsAccount.member_id == Member.id)
    )


_RULE_COLUMNS: dict[str, Any] = {
    "gender": Member.gender,
    "age_band": Member.age_band,
    "region": Member.region,
    "lifecycle": Member.lifecycle,
    "segment": Member.segment,
    "churn_risk": Member.churn_risk,
    "level": Member.level,
    "orders": func.coalesce(MemberActivity.orders, 0),
    "order_total_fen": func.coalesce(MemberActivity.order_total_fen, 0),
    "participations": func.coalesce(MemberActivity.participations, 0),
    "points_balance": func.coalesce(PointsAccount.balance, 0),
    "points_lifetime": func.coalesce(PointsAccount.lifetime, 0),
}
