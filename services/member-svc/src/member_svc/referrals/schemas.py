"""Invite codes, invitations and the referral tree in the API."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from member_svc.inputs import Input
from qunyun_shared.events.member import InvitationChannel
from qunyun_shared.schemas import Read


class InviteCode(BaseModel):
    member_id: uuid.UUID
    invite_code: str


class InvitationCreate(Input):
    community_id: uuid.UUID
    channel: InvitationChannel = Field(default="friend", description="Where the member shares it.")


class InvitationRead(Read):
    id: uuid.UUID
    inviter_id: uuid.UUID
    community_id: uuid.UUID
    channel: InvitationChannel
    sent_at: datetime


class InvitationSent(InvitationRead):
    invite_code: str = Field(description="The inviter's code, for the invitee's join (`invite_code`).")


class ReferralsRead(BaseModel):
    member_id: uuid.UUID
    invited_by: uuid.UUID | None = Field(description="Who first brought the member in.")
    invitees: list[uuid.UUID] = Field(description="Whom the member brought in, first joins only.")
    depth: int = Field(description="Steps from the member up to the root of their referral tree.")
