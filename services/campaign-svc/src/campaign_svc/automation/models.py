"""Automation: rules, the log of every evaluation of a rule on an event, and firings deferred by quiet hours."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from campaign_svc.db import Base
from qunyun_shared.db import UtcDateTime


class AutomationRule(Base):
    """When `trigger` happens, if every condition holds, run the actions on the event's member.
    Conditions and actions are stored as validated at creation; only `enabled` changes afterwards."""

    __tablename__ = "automation_rules"
    # Each event loads its tenant's enabled rules for its type: one index scan.
    __table_args__ = (Index("ix_automation_rules_tenant_trigger_enabled", "tenant_id", "trigger", "enabled"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean)
    trigger: Mapped[str] = mapped_column(String(40))
    # [{"subject", "field", "op", "value"}]
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # [{"type": "issue_coupon" | "add_points" | "add_tag" | "notify_merchant", ...}]
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # {"max_fires", "per_days"}: per member; none means no cap.
    frequency_cap: Mapped[dict[str, int] | None] = mapped_column(JSON)
    campaign_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AutomationRun(Base):
    """One evaluation of one rule on one event: `fired`, `skipped`, `deferred` (until `deferred_until`,
    then `fired`, `skipped` or `failed` when executed) or `failed`, and why. The key on (rule, event)
    makes a second evaluation of the same event a no-op. No foreign key to the rule: the log outlives it."""

    __tablename__ = "automation_runs"
    __table_args__ = (
        UniqueConstraint("rule_id", "event_id"),
        # Frequency caps and the birthday sweep count a member's recent runs of a rule.
        Index("ix_automation_runs_rule_member_evaluated", "rule_id", "member_id", "evaluated_at"),
        Index("ix_automation_runs_rule_evaluated", "rule_id", "evaluated_at"),
        Index("ix_automation_runs_tenant_member_evaluated", "tenant_id", "member_id", "evaluated_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    rule_id: Mapped[uuid.UUID]
    tenant_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[uuid.UUID]
    # The bus event's id, or `member.birthday:<year>:<member>` for the synthetic birthday.
    event_id: Mapped[str] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(300))
    evaluated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # From the event's time to the outcome (to the execution, for a deferred run).
    latency_ms: Mapped[int] = mapped_column(BigInteger)
    deferred_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    executed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AutomationDeferral(Base):
    """A run waiting for the end of quiet hours; the sweeper executes it and deletes the row."""

    __tablename__ = "automation_deferrals"

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("automation_runs.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
