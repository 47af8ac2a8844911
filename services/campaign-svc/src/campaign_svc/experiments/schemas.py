"""API models of A/B tests: experiments and their variants, exposures, conversions and results."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from campaign_svc.money import Fen
from qunyun_shared.schemas import Input, Read

VariantKey = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$", examples=["control"])]
# Strict: a weight or an amount sent as true, 2.0 or "2" is a client's bug, not a number to guess at.
Weight = Annotated[int, Field(strict=True, ge=1, le=10_000)]
StrictFen = Annotated[Fen, Field(strict=True)]
PayloadKey = Annotated[str, Field(min_length=1, max_length=64)]
PayloadValue = Annotated[str, Field(max_length=500)] | int | bool | None
SubjectKind = Literal["content", "campaign"]


class VariantCreate(Input):
    """One arm: its key, its share of members relative to the others' weights, and what it shows."""

    key: VariantKey
    weight: Weight = 1
    payload: dict[PayloadKey, PayloadValue] | None = Field(
        default=None, max_length=20, examples=[{"content_id": "0b7e6a52-5f0e-4f3e-9d1a-2c8f1d0e9a11"}]
    )


class ExperimentCreate(Input):
    """An A/B test; the first variant is the control the others are compared with."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        examples=["早餐推文标题 A/B"]
    )
    subject_kind: SubjectKind
    # The content item or campaign whose orders convert; none: any order of an exposed member converts.
    subject_id: uuid.UUID | None = None
    alpha: float = Field(default=0.05, ge=0.001, le=0.2)
    variants: list[VariantCreate] = Field(min_length=2, max_length=10)

    @model_validator(mode="after")
    def _keys_are_unique(self) -> "ExperimentCreate":
        keys = [variant.key for variant in self.variants]
        if len(set(keys)) != len(keys):
            raise ValueError("variant keys must be unique")
        return self


class VariantRead(Read):
    key: str
    weight: int
    payload: dict[str, PayloadValue] | None


class ExperimentRead(BaseModel):
    id: uuid.UUID
    name: str
    subject_kind: SubjectKind
    subject_id: uuid.UUID | None
    status: Literal["running", "stopped"]
    alpha: float
    control: str
    variants: list[VariantRead]
    created_at: datetime
    stopped_at: datetime | None


class ExposureCreate(Input):
    member_id: uuid.UUID


class ExposureRead(BaseModel):
    """The variant to show the member. `exposed_at` is when the member was first exposed; None when the
    experiment was stopped before they were, so the exposure was not counted."""

    experiment_id: uuid.UUID
    member_id: uuid.UUID
    variant: str
    payload: dict[str, PayloadValue] | None
    exposed_at: datetime | None


class ConversionCreate(Input):
    member_id: uuid.UUID
    value_fen: StrictFen = 0
    order_id: uuid.UUID | None = None


class ConversionRead(Read):
    experiment_id: uuid.UUID
    member_id: uuid.UUID
    variant: str
    value_fen: int
    order_id: uuid.UUID | None
    converted_at: datetime


class VariantResult(BaseModel):
    """One variant's counts, its conversion rate with a (1 - alpha) Wilson interval, and its two-sided
    z-test against the control; rates are None before any exposure, tests None for the control."""

    key: str
    exposures: int
    conversions: int
    value_fen: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    z_vs_control: float | None
    p_value_vs_control: float | None


class ExperimentResults(BaseModel):
    """Every variant's results and the winner: the best variant, and only if it beats every other at
    p < `threshold` (alpha / (variants - 1)); otherwise None and the `reason`."""

    experiment_id: uuid.UUID
    status: Literal["running", "stopped"]
    alpha: float
    confidence: float
    threshold: float
    control: str
    variants: list[VariantResult]
    winner: str | None
    reason: str | None
