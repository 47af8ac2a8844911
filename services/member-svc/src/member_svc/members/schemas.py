"""Members in the API: profiles as given, corrected and shown, and pages of members found."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from member_svc.inputs import Input
from qunyun_shared.events.analytics import Segment
from qunyun_shared.events.member import Birthday

Gender = Literal["female", "male", "other", "undisclosed"]
AgeBand = Literal["<18", "18-24", "25-34", "35-44", "45-54", "55+"]
PersonaTag = Annotated[str, Field(min_length=1, max_length=20)]
Hour = Annotated[int, Field(ge=0, le=23)]
Lifecycle = Literal["prospect", "active", "loyal"]
MerchantMemberId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00-\x1f]+$",
        examples=["VIP-000123"],
        description="The merchant's own id for the member (their shop's, their older SCRM's), unique per tenant.",
    ),
]


class _Profile(Input):
    gender: Gender | None = None
    age_band: AgeBand | None = None
    birthday: Birthday | None = Field(default=None, description="Month and day; the birthday perk is given on it.")
    region: str | None = Field(default=None, max_length=64, examples=["上海"])
    persona_tags: list[PersonaTag] = Field(default=[], max_length=20, examples=[["宝妈", "烘焙爱好者"]])
    active_hours: list[Hour] = Field(default=[], max_length=24, examples=[[20, 21, 22]])
    phone: str | None = Field(default=None, max_length=20, examples=["13812341234"], description="Stored encrypted.")


class MemberCreate(_Profile):
    nickname: str = Field(min_length=1, max_length=64, examples=["小雨妈妈"])
    merchant_member_id: MerchantMemberId | None = None


class MemberUpdate(_Profile):
    """A correction: only the fields sent change."""

    nickname: str | None = Field(default=None, min_length=1, max_length=64)


class MemberRead(BaseModel):
    id: uuid.UUID
    merchant_member_id: str | None = Field(description="The merchant's own id for the member, if given.")
    nickname: str
    phone: str | None = Field(description="Masked (138****1234) unless the caller may see personal data.")
    gender: Gender | None
    age_band: AgeBand | None
    birthday: str | None
    region: str | None
    persona_tags: list[str]
    active_hours: list[int]
    level: int
    lifecycle: Lifecycle
    segment: Segment | None
    churn_risk: bool
    tags: list[str] = Field(description="Manual, rule and system tags.")
    created_at: datetime
    erased: bool


class PhoneLookup(Input):
    phone: str = Field(max_length=20, examples=["13812341234"])


MAX_RESOLVED = 5000


class MerchantIdsResolve(Input):
    merchant_member_ids: list[MerchantMemberId] = Field(min_length=1, max_length=MAX_RESOLVED)


class MerchantIdsResolved(BaseModel):
    members: dict[str, uuid.UUID] = Field(description="Member ids by the merchant ids given that name a member.")
    unknown: list[str] = Field(description="Merchant ids no member of the tenant has.")
    erased: list[str] = Field(description="Merchant ids of members since erased: their history is not to be kept.")


class MemberSearchPage(BaseModel):
    members: list[MemberRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
