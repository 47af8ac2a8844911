"""Communities, joins and applications in the API."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from member_svc.inputs import Input
from qunyun_shared.events.member import CommunityKind, CommunityTier, JoinChannel
from qunyun_shared.history import PastTime
from qunyun_shared.schemas import Read

Overflow = Literal["waitlist", "sibling", "refuse"]
EntryRule = Literal["open", "invite_only", "purchased_product", "min_level", "approval"]


class Question(Input):
    id: str = Field(min_length=1, max_length=32, examples=["child_age"])
    text: str = Field(min_length=1, max_length=200, examples=["宝宝几个月了"])
    required: bool = True


class EntryRules(Input):
    entry_rule: EntryRule = "open"
    entry_product_id: str | None = Field(default=None, max_length=64, description="For `purchased_product`.")
    entry_min_level: int | None = Field(default=None, ge=0, le=100, description="For `min_level`.")
    questionnaire: list[Question] = Field(default=[], max_length=20, description="For `approval`.")

    @model_validator(mode="after")
    def _rule_has_what_it_needs(self) -> "EntryRules":
        needs = {"purchased_product": self.entry_product_id, "min_level": self.entry_min_level}
        if self.entry_rule in needs and needs[self.entry_rule] is None:
            raise ValueError(
                f"entry_rule {self.entry_rule} needs its entry_{'product_id' if self.entry_rule == 'purchased_product' else 'min_level'}"
            )
        if self.entry_rule == "approval" and not self.questionnaire:
            raise ValueError("entry_rule approval needs a questionnaire of at least one question")
        return self


class CommunityCreate(EntryRules):
    name: str = Field(min_length=1, max_length=100, examples=["宝妈交流群"])
    kind: CommunityKind = Field(examples=["vertical"])
    tier: CommunityTier = Field(default="active")
    capacity: int = Field(default=500, ge=1, le=100_000)
    overflow: Overflow = Field(
        default="waitlist",
        description="When full: queue joiners, open a sibling community (…2) for them, or refuse them.",
    )
    opened_at: PastTime | None = Field(
        default=None,
        description="When it really opened (an imported brand's community: years ago); now if not given. "
        "History imported into it may not have anyone join before.",
    )


class CommunityUpdate(Input):
    """Only the fields sent change."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    tier: CommunityTier | None = None
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    overflow: Overflow | None = None
    entry: "EntryRules | None" = Field(default=None, description="Replaces the entry rule and its settings.")


class CommunityRead(Read):
    id: uuid.UUID
    name: str
    kind: CommunityKind
    tier: CommunityTier
    capacity: int
    member_count: int
    overflow: Overflow
    sibling_of: uuid.UUID | None = Field(description="The community this one was opened beside when it was full.")
    entry_rule: EntryRule
    entry_product_id: str | None
    entry_min_level: int | None
    questionnaire: list[Question]
    stage: Literal["startup", "growth", "mature", "decline"] | None = Field(
        description="Lifecycle stage, as analytics-svc last judged it."
    )
    created_at: datetime
    opened_at: datetime
    archived_at: datetime | None


class JoinRequest(Input):
    member_id: uuid.UUID
    channel: JoinChannel = Field(examples=["qr"])
    inviter_id: uuid.UUID | None = None
    invite_code: str | None = Field(default=None, min_length=4, max_length=16, description="Instead of inviter_id.")
    answers: dict[Annotated[str, Field(max_length=32)], Annotated[str, Field(max_length=500)]] = Field(
        default={}, max_length=20, description="Answers to the questionnaire of a community that admits by approval."
    )


class ApplicationRead(Read):
    id: uuid.UUID
    community_id: uuid.UUID
    member_id: uuid.UUID
    answers: dict[str, str]
    status: Literal["pending", "approved", "rejected"]
    reason: str | None
    applied_at: datetime
    decided_at: datetime | None


class Decision(Input):
    reason: str | None = Field(default=None, max_length=200)


class JoinResult(BaseModel):
    status: Literal["joined", "waitlisted", "pending_approval"]
    application_id: uuid.UUID | None = None
    community_id: uuid.UUID = Field(description="Where the member is: a sibling when the one asked for was full.")
    member_id: uuid.UUID
    waitlist_position: int | None = None


class MembershipRecordRead(Read):
    community_id: uuid.UUID
    action: Literal["joined", "rejoined", "left", "removed"]
    at: datetime


class MembershipRead(Read):
    community_id: uuid.UUID
    member_id: uuid.UUID
    channel: JoinChannel
    inviter_id: uuid.UUID | None
    joined_at: datetime
