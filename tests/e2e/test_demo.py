"""The demo `make run` seeds, seeded as `make run` seeds it (scripts/seed_demo.py against the five services on
SQLite files): its owner signs in, and the KPIs, cohorts, funnel, segments, churn risks, health scores, alerts
and campaigns they open answer with numbers a brand would have."""

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from analytics_svc.activity import REPORT_ZONE
from qunyun_shared.testing import eventually
from tests.support.harness import ROOT, SERVICES, Platform

pytestmark = pytest.mark.e2e

SEEDER = ROOT / "scripts" / "seed_demo.py"


@dataclass(frozen=True)
class Demo:
    platform: Platform
    workdir: Path
    owner: tuple[str, str]  # email, password


@pytest_asyncio.fixture(scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Demo]:
    """The five services on SQLite files, as `make run` starts them, seeded as `make run` seeds them."""
    workdir = tmp_path_factory.mktemp("demo")
    platform = await Platform.create(workdir, list(SERVICES), engine="sqlite")
    try:
        started = time.monotonic()
        # In a thread, so that the platform's own event loop goes on meanwhile.
        seeded = await asyncio.to_thread(_seed, platform, workdir)
        logs = "\n".join(f"--- {name}\n{s.log_tail(15)[-3000:]}" for name, s in platform.services.items())
        assert seeded.returncode == 0, f"{seeded.stdout}\n{seeded.stderr}\n{logs}"
        print(f"seeded in {time.monotonic() - started:.0f} s:\n{seeded.stdout}")
        email, password = (workdir / "demo-owner").read_text().split()
        yield Demo(platform, workdir, (email, password))
    finally:
        await platform.close()


@pytest_asyncio.fixture
async def console(demo: Demo) -> AsyncIterator[httpx.AsyncClient]:
    """The API as the console calls it: with the demo owner's access token, from signing in."""
    email, password = demo.owner
    async with httpx.AsyncClient(base_url=f"{demo.platform.url('gateway')}/api/v1", timeout=30) as client:
        signed_in = await client.post("/auth/login", json={"email": email, "password": password})
        assert signed_in.status_code == 200, signed_in.text
        client.headers["Authorization"] = f"Bearer {signed_in.json()['access_token']}"
        yield client


def _seed(platform: Platform, workdir: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        str(SEEDER),
        f"--gateway={platform.url('gateway')}",
        f"--admin-token={platform.admin_token}",
        f"--key-file={workdir / 'demo-api-key'}",
        f"--owner-file={workdir / 'demo-owner'}",
        "--ready",
        *(service.url for service in platform.services.values()),
    ]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


async def test_the_owner_finds_members_active_and_coming_back(console: httpx.AsyncClient) -> None:
    await _members_and_activity(console)


async def test_the_owner_finds_sales_campaigns_and_nps(console: httpx.AsyncClient) -> None:
    await _business(console)


async def test_the_owner_finds_segments_churn_risks_and_every_communitys_health(console: httpx.AsyncClient) -> None:
    await _segments_churn_and_health(console)


async def test_alert_rules_the_demo_crosses_raise_alerts(console: httpx.AsyncClient) -> None:
    async def raised() -> None:
        alerts = await _get(console, "/analytics/alerts")
        assert {alert["kpi"] for alert in alerts} >= {"weekly_active_rate", "interaction_rate"}, alerts

    # The alert sweep looks at rules not yet evaluated within a minute.
    await eventually(raised, timeout=120, interval=2)


async def test_the_win_back_rule_runs_for_churners(console: httpx.AsyncClient) -> None:
    [win_back] = await _get(console, "/campaigns/automations", trigger="member.churn_risk")

    async def ran() -> None:
        runs = await _get(console, f"/campaigns/automations/{win_back['id']}/runs")
        assert {run["outcome"] for run in runs["runs"]} & {"fired", "deferred"}, runs

    await eventually(ran, timeout=30, interval=1)


async def test_the_churn_list_is_the_members_analytics_finds_at_risk(console: httpx.AsyncClient) -> None:
    async def agree() -> None:
        segments = {s["segment"]: s["members"] for s in await _get(console, "/analytics/segments")}
        listed, cursor = 0, None
        while True:
            page = await _get(
                console, "/members", churn_risk="true", limit="200", **({"cursor": cursor} if cursor else {})
            )
            listed, cursor = listed + len(page["members"]), page["next_cursor"]
            if cursor is None:
                break
        assert listed == segments["churn_risk"], (listed, segments)

    # Raised and cleared flags reach member-svc as events, a moment after analytics judged them.
    await eventually(agree, timeout=60, interval=2)


async def test_a_second_run_leaves_the_seeded_demo_as_it_is(demo: Demo, console: httpx.AsyncClient) -> None:
    key = (demo.workdir / "demo-api-key").read_text()
    assert all((demo.workdir / f).stat().st_mode & 0o777 == 0o600 for f in ("demo-api-key", "demo-owner"))
    again = await asyncio.to_thread(_seed, demo.platform, demo.workdir)
    assert again.returncode == 0 and "Seeding" not in again.stdout, again.stdout + again.stderr
    assert (demo.workdir / "demo-api-key").read_text() == key
    assert len(await _get(console, "/communities", limit="50")) == 7


def _today() -> date:
    return datetime.now(REPORT_ZONE).date()


async def _points(console: httpx.AsyncClient, kpi: str, start: date, end: date, **params: str) -> list[Any]:
    answer = await console.get(f"/analytics/kpis/{kpi}", params={"from": str(start), "to": str(end), **params})
    assert answer.status_code == 200, answer.text
    return [point["value"] for point in answer.json()["points"]]


async def _get(console: httpx.AsyncClient, path: str, **params: str) -> Any:
    answer = await console.get(path, params=params)
    assert answer.status_code == 200, f"{path}: {answer.text}"
    return answer.json()


async def _members_and_activity(console: httpx.AsyncClient) -> None:
    today = _today()
    first = today - timedelta(days=119)
    [members] = await _points(console, "members_total", today, today)
    assert 1_800 <= members <= 2_050, members
    week = (today - timedelta(days=7), today - timedelta(days=1))
    daus, waus, maus = [await _points(console, kpi, *week) for kpi in ("dau", "wau", "mau")]
    for dau, wau, mau in zip(daus, waus, maus, strict=True):
        assert 0 < dau < wau < mau < members, (daus, waus, maus)
    joined = await _points(console, "members_new", first, today, granularity="month")
    assert sum(joined) >= 1_800, joined
    cohorts = await _get(console, "/analytics/cohorts/retention", **_range(first, today), granularity="month")
    assert len([row for row in cohorts if row["members"] > 0]) >= 4, cohorts
    # The cohorts of earlier months are still active in the months after they joined.
    assert all(row["values"][1] for row in cohorts[:-1]), cohorts
    funnel = await _get(console, "/analytics/funnel", **_range(first, today))
    assert [step["members"] > 0 for step in funnel] == [True] * 4, funnel


async def _business(console: httpx.AsyncClient) -> None:
    today = _today()
    first = today - timedelta(days=119)
    gmv = await _points(console, "gmv_fen", first, today, granularity="month")
    paid = await _points(console, "paid_orders", first, today, granularity="month")
    assert sum(paid) > 1_000 and sum(gmv) > 100_000_00, (paid, gmv)
    assert all(value and value > 0 for value in paid[1:]), paid
    repurchase = await _points(console, "repurchase_rate_30d", first, today - timedelta(days=31), granularity="month")
    assert any(rate and 0 < rate < 1 for rate in repurchase), repurchase
    [nps] = await _points(console, "nps", today, today)
    assert nps is not None and -100 < nps < 100
    campaigns = await _get(console, "/campaigns", limit="50")
    kinds = {campaign["kind"] for campaign in campaigns}
    assert {"flash_sale", "group_buy", "lottery", "checkin", "referral", "win_back"} <= kinds, kinds
    reports = [await _get(console, f"/campaigns/{c['id']}/report") for c in campaigns if c["kind"] == "flash_sale"]
    assert reports[0]["orders"] > 0 and reports[0]["gmv_fen"] > 0, reports


async def _segments_churn_and_health(console: httpx.AsyncClient) -> None:
    segments = {s["segment"]: s["members"] for s in await _get(console, "/analytics/segments")}
    assert len([count for count in segments.values() if count > 0]) >= 3, segments

    async def some_at_risk() -> None:
        at_risk = await _get(console, "/members", churn_risk="true", limit="100")
        assert at_risk["members"], "no member is at churn risk"

    # Analytics judges the imported history once it is all in (and the seeding's refit judges everyone):
    # member-svc hears of the flags a moment later.
    await eventually(some_at_risk, timeout=60, interval=2)
    communities = await _get(console, "/communities", limit="50")
    assert len(communities) >= 5, communities
    for community in communities:
        health = await _get(console, f"/analytics/communities/{community['id']}/health")
        assert health["score"] is not None and 0 < health["score"] <= 100, health


def _range(start: date, end: date) -> dict[str, str]:
    return {"from": str(start), "to": str(end)}
