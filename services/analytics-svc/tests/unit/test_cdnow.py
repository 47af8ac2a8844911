"""The lifetime-value model against the `lifetimes` package on a real purchase history: CDNOW's 69,659
transactions by 23,570 customers over 18 months (lifetimes/datasets/CDNOW_master.txt), fed to analytics as
the orders they are, placed and paid, through its own ingestion in random order. Analytics' per-member
summary is lifetimes' summary_data_from_transaction_data(freq="D") exactly, and the models it fits (read
through GET /analytics/models) are lifetimes' BetaGeoFitter and GammaGammaFitter on that summary."""

import importlib.resources
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, time

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import handlers
from analytics_svc.activity import REPORT_ZONE
from analytics_svc.db import MESSAGING
from analytics_svc.models import Base
from analytics_svc.scoring import api as scoring_api
from analytics_svc.scoring import roster, segments
from qunyun_shared.events import Envelope, new_event
from qunyun_shared.events.campaign import OrderPaidV1, OrderPlacedV1
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture, routes_client

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="analytics-svc", topic_prefix="qunyun")
TENANT = "tenant-cdnow"
OBSERVED_UNTIL = "1998-06-30"  # CDNOW's last day
# The refit happens on that day's evening in Shanghai: its T runs to that day.
REFIT_AT = datetime(1998, 6, 30, 21, tzinfo=REPORT_ZONE)
ORDERS_PER_BATCH = 5_000
# Both fits maximise the same likelihood of the same summary, from the same start with the same optimiser:
# they agree to its tolerance (seen: 1e-14 for BG/NBD, 1e-6 for Gamma-Gamma, started elsewhere).
FIT_RTOL = 1e-4

session = in_memory_session_fixture(Base.metadata)


def cdnow_transactions() -> pd.DataFrame:
    """One row per transaction: the customer, the day, the amount in fen, and a moment of that day in
    Shanghai, one of four, so that many of a customer's orders of one day share their moment."""
    path = importlib.resources.files("lifetimes") / "datasets" / "CDNOW_master.txt"
    with importlib.resources.as_file(path) as file:
        frame = pd.read_csv(file, sep=r"\s+", dtype={"customer_id": str, "date": str})
    rng = np.random.default_rng(69_659)
    frame["day"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    frame["fen"] = (frame["dollar_value"] * 100).round().astype(np.int64)
    frame["hour"] = rng.choice([0, 6, 12, 18], size=len(frame))
    frame["order_id"] = [uuid.UUID(int=(1 << 64) + i) for i in range(len(frame))]
    frame["member_id"] = [uuid.UUID(int=(2 << 64) + int(c)) for c in frame["customer_id"]]
    return frame


def batches(frame: pd.DataFrame) -> Iterator[list[Envelope]]:
    """The orders in random order (a customer's later ones often before their earlier ones), each batch
    placing its orders and then paying them, as imported history."""
    shuffled = frame.sample(frac=1.0, random_state=21)
    for start in range(0, len(shuffled), ORDERS_PER_BATCH):
        chunk = shuffled.iloc[start : start + ORDERS_PER_BATCH]
        placed, paid = [], []
        for order_id, member_id, day, hour, fen in zip(
            chunk["order_id"], chunk["member_id"], chunk["day"], chunk["hour"], chunk["fen"], strict=True
        ):
            moment = datetime.combine(day.date(), time(int(hour)), REPORT_ZONE).astimezone(UTC)
            placed.append(OrderPlacedV1(order_id=order_id, member_id=member_id, amount_fen=int(fen), placed_at=moment))
            paid.append(OrderPaidV1(order_id=order_id, member_id=member_id, amount_fen=int(fen), paid_at=moment))
        yield [new_event(source="campaign-svc", tenant_id=TENANT, payload=p, imported=True) for p in placed + paid]


async def test_cdnow_through_ingestion_gives_lifetimes_summary_and_fits(session: AsyncSession) -> None:
    frame = cdnow_transactions()
    for envelopes in batches(frame):
        await handlers.on_measured(session, OUTBOX, envelopes)
    await segments.recompute(session=session, outbox=OUTBOX, tenant_id=TENANT, now=REFIT_AT.astimezone(UTC))

    reference = summary_data_from_transaction_data(
        frame, "customer_id", "day", monetary_value_col="fen", observation_period_end=OBSERVED_UNTIL, freq="D"
    )
    members = await roster.of_tenant(session=session, tenant_id=TENANT, now=REFIT_AT.astimezone(UTC))
    customers = [f"{member_id.int - (2 << 64):05d}" for member_id in members.member_ids]
    theirs = reference.loc[customers]
    ours = members.history.purchases
    assert len(customers) == len(reference) == 23_570 and ours.bought.all()
    for column in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_array_equal(getattr(ours, column), theirs[column].to_numpy(), err_msg=column)

    analyst = Identity(tenant_id=TENANT, principal="analyst", permissions=frozenset({"analytics:read"}))
    async with routes_client(session, [scoring_api.router], lambda: analyst, OUTBOX) as http:
        answered = await http.get("/analytics/models")
    assert answered.status_code == 200, answered.text
    model = answered.json()

    purchases = BetaGeoFitter().fit(reference["frequency"], reference["recency"], reference["T"])
    fitted = model["purchase_model"]
    assert fitted["fit"]["converged"] and fitted["fit"]["customers"] == len(reference)
    for name in ("r", "alpha", "a", "b"):
        assert fitted["params"][name] == pytest.approx(purchases.params_[name], rel=FIT_RTOL), name
    at_ours = np.log([fitted["params"][name] for name in ("r", "alpha", "a", "b")])
    mean_negative = BetaGeoFitter._negative_log_likelihood(
        at_ours, *(reference[c].to_numpy() for c in ("frequency", "recency", "T")), np.ones(len(reference)), 0.0
    )
    assert fitted["fit"]["log_likelihood"] == pytest.approx(-mean_negative * len(reference), rel=1e-9)

    # Gamma-Gamma on the repeat buyers whose repeat days came to something (80 CDNOW transactions are $0).
    spent = reference[(reference["frequency"] > 0) & (reference["monetary_value"] > 0)]
    spend = GammaGammaFitter().fit(spent["frequency"], spent["monetary_value"])
    assert model["spend_model"]["fit"]["converged"] and model["spend_model"]["fit"]["customers"] == len(spent)
    for name in ("p", "q", "v"):
        assert model["spend_model"]["params"][name] == pytest.approx(spend.params_[name], rel=FIT_RTOL), name

    totals = model["summary"]
    assert totals == {
        "observed_until": OBSERVED_UNTIL,
        "buyers": 23_570,
        "repeat_buyers": int((reference["frequency"] > 0).sum()),
        "repeat_purchases": int(reference["frequency"].sum()),
        "recency_days": int(reference["recency"].sum()),
        "age_days": int(reference["T"].sum()),
        "spend_buyers": len(spent),
    }
