"""member-svc API models."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from qunyun_shared.events.member import JoinChannel

CommunityKind = Literal["vertical", "welfare", "interest", "vip"]
CommunityTier = Literal["core", "active", "potential"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CommunityCreate(_Input):
    name: str = Field(min_length=1, max_length=100, examples=["宝妈交流群"])
    kind: CommunityKind = Field(examples=["vertical"])
    tier: CommunityTier = Field(default="active")
    capacity: int = Field(default=500, ge=1, le=100_000)


class CommunityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    kind: CommunityKind
    tier: CommunityTier
    capacity: int
    member_count: int
    created_at: datetime


class MemberCreate(_Input):
    nickname: str = Field(min_length=1, max_length=64, examples=["小雨妈妈"])


class MemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    nickname: str
    created_at: datetime


class JoinRequest(_Input):
    member_id: uuid.UUID
    channel: JoinChannel = Field(examples=["qr"])
    inviter_id: uuid.UUID | None = None


class MembershipRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    community_id: uuid.UUID
    member_id: uuid.UUID
    channel: JoinChannel
    inviter_id: uuid.UUID | None
    joined_at: datetime
