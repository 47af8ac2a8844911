"""Seeds a small demo tenant through the gateway, the way a front-end would, and shows the flow working."""

import argparse
import secrets
import sys
import time
from pathlib import Path

import httpx

SERVICE_PORTS = {"gateway": 8000, "member-svc": 8001, "content-svc": 8002, "campaign-svc": 8003, "analytics-svc": 8004}
COMMUNITIES = [("宝妈交流群", "vertical", "core"), ("周三会员日福利群", "welfare", "active")]
NICKNAMES = ["小雨妈妈", "健身阿杰", "职场新人Lily", "宝妈Amy", "跑步的老王", "烘焙爱好者"]


def wait_until_ready(deadline_seconds: float = 90) -> None:
    deadline = time.monotonic() + deadline_seconds
    for name, port in SERVICE_PORTS.items():
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"{name} did not become ready; see .run/logs/{name}.log")
            time.sleep(0.5)


def demo_key(gateway: str, admin_token: str, key_file: Path) -> tuple[str, bool]:
    """The demo tenant's key: the saved one if it still works, else a new tenant's."""
    if key_file.exists():
        key = key_file.read_text().strip()
        if httpx.get(f"{gateway}/api/v1/communities", headers={"Authorization": f"Bearer {key}"}).status_code == 200:
            return key, False
    created = httpx.post(
        f"{gateway}/admin/tenants",
        json={"name": f"Demo Brand {secrets.token_hex(3)}"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    created.raise_for_status()
    key = created.json()["api_key"]
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    return key, True


def seed(client: httpx.Client) -> None:
    members = [client.post("/members", json={"nickname": n}).raise_for_status().json()["id"] for n in NICKNAMES]
    for name, kind, tier in COMMUNITIES:
        community = client.post("/communities", json={"name": name, "kind": kind, "tier": tier}).raise_for_status()
        community_id = community.json()["id"]
        for index, member_id in enumerate(members):
            inviter = members[0] if index and index % 2 == 0 else None
            join = {"member_id": member_id, "channel": "invite" if inviter else "qr", "inviter_id": inviter}
            client.post(f"/communities/{community_id}/members", json=join).raise_for_status()
        wait_for_count(client, community_id, len(members))
        print(f"  community {name}: {len(members)} members, counted by analytics-svc")


def wait_for_count(client: httpx.Client, community_id: str, expected: int, deadline_seconds: float = 30) -> None:
    deadline = time.monotonic() + deadline_seconds
    while client.get(f"/analytics/communities/{community_id}/members").json()["members"] != expected:
        if time.monotonic() > deadline:
            sys.exit("analytics-svc did not count the demo joins in time; see .run/logs/")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--key-file", type=Path, required=True)
    args = parser.parse_args()
    wait_until_ready()
    key, fresh = demo_key(args.gateway, args.admin_token, args.key_file)
    if fresh:
        print("Seeding the demo tenant:")
        with httpx.Client(base_url=f"{args.gateway}/api/v1", headers={"Authorization": f"Bearer {key}"}) as client:
            seed(client)


if __name__ == "__main__":
    main()
