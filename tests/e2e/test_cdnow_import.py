"""A real public purchase history imported end to end through the gateway: CDNOW's 69,659 transactions by 23,570
customers over 18 months (shipped with the `lifetimes` package), moved by whole days to end yesterday, uploaded
as a shop would export them — a file of customers, then a file of orders naming them by the shop's own ids —
and read back from analytics: GMV and paid orders of every month equal to pandas over the same rows, and the
lifetime-value model fitted after the import equal to `lifetimes` fitted on the standard per-day summary."""

import importlib.resources
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

from qunyun_shared.testing import eventually
from tests.e2e.helpers import idempotency_key, imported

pytestmark = pytest.mark.e2e

SHANGHAI = "+08:00"  # analytics counts days in Shanghai
FIT_RTOL = 1e-4  # the same likelihood maximised from the same start by the same optimiser


def cdnow(yesterday: date) -> pd.DataFrame:
    """One row per transaction: the shop's customer and order ids, the day (moved to end yesterday) and fen."""
    path = importlib.resources.files("lifetimes") / "datasets" / "CDNOW_master.txt"
    with importlib.resources.as_file(path) as file:
        frame = pd.read_csv(file, sep=r"\s+", dtype={"customer_id": str, "date": str})
    days = pd.to_datetime(frame["date"], format="%Y%m%d")
    frame["day"] = days + pd.Timedelta(days=(pd.Timestamp(yesterday) - days.max()).days)
    frame["fen"] = (frame["dollar_value"] * 100).round().astype(int)
    frame["order"] = [f"T{n}" for n in range(len(frame))]
    return frame


def customers_file(frame: pd.DataFrame) -> str:
    lines = ["merchant_member_id,nickname"] + [f"C{c},CDNOW {c}" for c in sorted(frame["customer_id"].unique())]
    return "\n".join(lines) + "\n"


def orders_file(frame: pd.DataFrame) -> str:
    lines = ["merchant_order_id,merchant_member_id,placed_at,paid_at,product_id,quantity,unit_price_fen"]
    for order, customer, day, fen in zip(frame["order"], frame["customer_id"], frame["day"], frame["fen"], strict=True):
        moment = f"{day.date().isoformat()}T12:00:00{SHANGHAI}"  # noon in Shanghai: the day is the day
        lines.append(f"{order},C{customer},{moment},{moment},cd,1,{fen}")
    return "\n".join(lines) + "\n"


async def monthly(api: httpx.AsyncClient, kpi: str, first: date, last: date) -> dict[str, float]:
    params = {"from": first.isoformat(), "to": last.isoformat(), "granularity": "month"}
    points = (await api.get(f"/analytics/kpis/{kpi}", params=params)).raise_for_status().json()["points"]
    return {point["start"][:7]: point["value"] or 0 for point in points}


async def test_cdnows_history_imported_through_the_gateway_reads_back_exact_and_fits_as_lifetimes_does(
    tenant_api: httpx.AsyncClient,
) -> None:
    yesterday = datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)
    frame = cdnow(yesterday)
    customers = await imported(tenant_api, "members", customers_file(frame), timeout=600)
    assert (customers["status"], customers["created"], customers["errors"]) == ("done", 23_570, [])
    orders = await imported(tenant_api, "orders", orders_file(frame), timeout=900)
    assert (orders["status"], orders["created"], orders["errors"]) == ("done", 69_659, [])

    first, last = frame["day"].min().date(), frame["day"].max().date()
    by_month = frame.groupby(frame["day"].dt.strftime("%Y-%m"))
    expected_orders = {month: float(count) for month, count in by_month.size().items()}
    expected_gmv = {month: float(fen) for month, fen in by_month["fen"].sum().items()}

    async def counted() -> dict[str, float]:
        paid = await monthly(tenant_api, "paid_orders", first, last)
        assert paid == expected_orders
        return paid

    await eventually(counted, timeout=600, interval=2)
    assert await monthly(tenant_api, "gmv_fen", first, last) == expected_gmv

    refit = await tenant_api.post("/analytics/segments/recompute", headers=idempotency_key())
    assert refit.status_code == 202, refit.text

    async def fitted() -> dict[str, Any]:
        job = (await tenant_api.get(f"/analytics/models/refits/{refit.json()['id']}")).json()
        assert job["status"] in ("succeeded", "failed"), job
        return dict(job)

    job = await eventually(fitted, timeout=300, interval=1)
    assert job["status"] == "succeeded", job
    model = (await tenant_api.get("/analytics/models")).raise_for_status().json()

    observed_until = model["summary"]["observed_until"]
    reference = summary_data_from_transaction_data(
        frame, "customer_id", "day", monetary_value_col="fen", observation_period_end=observed_until, freq="D"
    )
    assert model["summary"]["buyers"] == len(reference) == 23_570
    assert model["summary"]["repeat_purchases"] == int(reference["frequency"].sum())
    assert model["summary"]["age_days"] == int(reference["T"].sum())
    purchases = BetaGeoFitter().fit(reference["frequency"], reference["recency"], reference["T"])
    for name in ("r", "alpha", "a", "b"):
        assert model["purchase_model"]["params"][name] == pytest.approx(purchases.params_[name], rel=FIT_RTOL), name
    spent = reference[(reference["frequency"] > 0) & (reference["monetary_value"] > 0)]
    spend = GammaGammaFitter().fit(spent["frequency"], spent["monetary_value"])
    for name in ("p", "q", "v"):
        assert model["spend_model"]["params"][name] == pytest.approx(spend.params_[name], rel=FIT_RTOL), name
