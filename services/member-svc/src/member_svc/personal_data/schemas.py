"""Consent and what a member's data export holds, in the API."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from member_svc.communities.schemas import MembershipRead, MembershipRecordRead
from member_svc.inputs import Input
from member_svc.members.schemas import MemberRead
from member_svc.points.schemas import PointsEntryRead
from member_svc.referrals.schemas import InvitationRead
from member_svc.tags.schemas import MemberTagRead
from qunyun_shared.schemas import Read

ConsentPurpose = Literal["service", "marketing"]


class ConsentCreate(Input):
    purpose: ConsentPurpose
    granted: bool
    source: str = Field(min_length=1, max_length=64, examples=["mini-program signup form v3"])


class ConsentRead(Read):
    purpose: ConsentPurpose
    granted: bool
    source: str
    recorded_at: datetime


class ConsentState(BaseModel):
    service: bool = Field(description="In force now: the latest decision for the purpose, false if none.")
    marketing: bool
    history: list[ConsentRead]


class MemberExport(BaseModel):
    """Everything member-svc holds about a member (PIPL access and copy)."""

    member: MemberRead
    memberships: list[MembershipRead]
    membership_records: list[MembershipRecordRead]
    consents: list[ConsentRead]
    invitations: list[InvitationRead]
    tags: list[MemberTagRead]
    points_ledger: list[PointsEntryRead]
    exported_at: datetime
