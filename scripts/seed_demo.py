"""Seeds the demo brand through the gateway, as a brand moving onto Qunyun would: its 120 days of community life
through the history imports, today through live calls, then a refit so segments and churn risk reflect it.

The brand gets an owner who can sign in; the owner's email and password, and the brand's API key, are kept in
files of their own (mode 600). A saved key that still works means the demo is seeded already."""

import argparse
import asyncio
import secrets
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
from demo.client import Api, SeedingFailed
from demo.life import generate
from demo.results import alert_rules, expected, refit, summary, wait_for_analytics
from demo.seeding import consents_known, the_brand, the_past
from demo.today import today
from demo.world import ZONE, Calendar

MAKE_RUN_SERVICES = [f"http://127.0.0.1:{port}" for port in range(8000, 8005)]


async def wait_until_ready(http: httpx.AsyncClient, services: list[str], deadline_seconds: float = 90) -> None:
    deadline = time.monotonic() + deadline_seconds
    for url in services:
        while True:
            try:
                if (await http.get(f"{url}/readyz", timeout=2)).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"{url} did not become ready; see .run/logs/")
            await asyncio.sleep(0.5)


async def works(http: httpx.AsyncClient, gateway: str, key: str | None) -> bool:
    if key is None:
        return False
    answer = await http.get(f"{gateway}/api/v1/communities", headers={"Authorization": f"Bearer {key}"})
    return answer.status_code == 200


async def new_tenant(http: httpx.AsyncClient, gateway: str, admin_token: str) -> tuple[str, str, str]:
    """A new brand with its owner: its API key, and the owner's email and password."""
    suffix = secrets.token_hex(3)
    email, password = f"owner.{suffix}@example.com", secrets.token_urlsafe(12)
    owner = {"email": email, "display_name": "演示品牌 店长", "password": password, "roles": ["owner"]}
    created = await http.post(
        f"{gateway}/admin/tenants",
        json={"name": f"Demo Brand {suffix}", "owner": owner},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    if created.status_code != 201:
        raise SeedingFailed(f"POST /admin/tenants answered {created.status_code}: {created.text}")
    return created.json()["api_key"], email, password


def keep(path: Path, *lines: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text("".join(f"{line}\n" for line in lines))


async def seed(args: argparse.Namespace, saved_key: str | None) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        await wait_until_ready(http, args.ready or MAKE_RUN_SERVICES)
        if await works(http, args.gateway, saved_key):
            return
        key, email, password = await new_tenant(http, args.gateway, args.admin_token)
    started = time.monotonic()
    now = datetime.now(ZONE)
    world = generate(args.seed, Calendar(now.date(), now), members=args.members)
    print(
        f"Seeding the demo brand (seed {args.seed}): 120 days to {world.calendar.today}, {len(world.members)} members"
    )
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=f"{args.gateway}/api/v1", headers=headers, timeout=60) as client:
        api = Api(client)
        ids = await the_brand(api, world)
        # Today's live calls come before the bulk of the history: on SQLite, requests share the one writer with
        # the consumers taking the history in, and would mostly wait for them.
        await today(api, world, ids)
        api.say("today: joins, reads, posts, check-ins, orders, coupons, flash sale, group-buy, lottery, NPS")
        await the_past(api, world, ids)
        await wait_for_analytics(api, world, expected(world))
        api.say("analytics has taken in the history")
        await consents_known(api, world, ids)
        await refit(api)
        await alert_rules(api, ids)
        api.say("segments and churn risk refitted, alert rules set")
        for line in await summary(api, world, ids):
            print(line)
        print(f"  seeded in {time.monotonic() - started:.0f} s with {api.calls} requests")
    keep(args.key_file, key)
    keep(args.owner_file, email, password)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--key-file", type=Path, required=True)
    parser.add_argument("--owner-file", type=Path, required=True, help="gets the owner's email and password")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--ready", nargs="*", help="services to wait for (default: those of `make run`)")
    args = parser.parse_args()
    # A key without an owner is an older, smaller demo's: the living one is seeded beside it.
    seeded = args.key_file.exists() and args.owner_file.exists()
    saved_key = args.key_file.read_text().strip() if seeded else None
    try:
        asyncio.run(seed(args, saved_key))
    except SeedingFailed as exc:
        sys.exit(f"Seeding the demo failed: {exc}")


if __name__ == "__main__":
    main()
