"""The examples the OpenAPI document shows for the aggregated views (tests check they fit the models)."""

from typing import Any

_MEMBER = "2b6f0d7a-4c1e-4a8e-9b1f-3f5b8c2d9e10"
_COMMUNITY = "9a3e1f2b-7c4d-4e5f-8a6b-1c2d3e4f5a6b"
_CAMPAIGN = "5d1c9e7a-2b3f-4c8d-9e0a-1b2c3d4e5f60"
_CONTENT = "5c8d2e1f-0a9b-4c7d-8e6f-2a1b3c4d5e6f"

MEMBER_360_EXAMPLE: dict[str, Any] = {
    "member_id": _MEMBER,
    "profile": {
        "status": "ok",
        "data": {
            "id": _MEMBER,
            "nickname": "小雨妈妈",
            "phone": "138****1234",
            "gender": "female",
            "age_band": "25-34",
            "region": "上海",
            "persona_tags": ["宝妈"],
            "lifecycle": "active",
            "segment": "potential",
            "churn_risk": False,
            "level": 2,
            "tags": ["孕晚期", "potential"],
            "created_at": "2026-10-02T12:30:00Z",
            "erased": False,
        },
        "reason": None,
    },
    "points": {
        "status": "ok",
        "data": {
            "balance": 320,
            "debt": 0,
            "lifetime": 410,
            "level": {"level": 2, "name": "银卡", "threshold": 300, "privileges": ["生日礼"]},
            "next_level": {"level": 3, "name": "金卡", "threshold": 1000, "privileges": ["专属客服"]},
            "expiring": [{"remaining": 40, "expires_at": "2026-12-01T00:00:00Z"}],
        },
        "reason": None,
    },
    "orders": {
        "status": "ok",
        "data": {
            "orders": [
                {
                    "id": "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918",
                    "status": "paid",
                    "community_id": _COMMUNITY,
                    "items": [{"product_id": "sku-oat-1kg", "quantity": 2, "unit_price_fen": 5900}],
                    "amount_fen": 9800,
                    "refunded_fen": 0,
                    "campaign_id": _CAMPAIGN,
                    "coupon_id": "0f1e2d3c-4b5a-4697-8877-665544332211",
                    "placed_at": "2026-11-20T12:01:00Z",
                    "paid_at": "2026-11-20T12:02:10Z",
                }
            ],
            "next_cursor": None,
        },
        "reason": None,
    },
    "coupons": {
        "status": "ok",
        "data": [
            {
                "id": "0f1e2d3c-4b5a-4697-8877-665544332211",
                "campaign_id": _CAMPAIGN,
                "status": "redeemed",
                "issued_at": "2026-11-18T09:00:00Z",
                "expires_at": "2026-11-25T09:00:00Z",
                "discount_fen": 2000,
                "redeemed_at": "2026-11-20T12:01:00Z",
            }
        ],
        "reason": None,
    },
    "scores": {"status": "unavailable", "data": None, "reason": "analytics-svc did not answer within 1.5 s."},
    "engagement": {"status": "forbidden", "data": None, "reason": "This needs the content:read permission."},
}

COMMUNITY_DASHBOARD_EXAMPLE: dict[str, Any] = {
    "community_id": _COMMUNITY,
    "community": {
        "status": "ok",
        "data": {
            "id": _COMMUNITY,
            "name": "宝妈交流群",
            "kind": "vertical",
            "tier": "active",
            "capacity": 500,
            "member_count": 412,
            "entry_rule": "open",
            "created_at": "2026-06-01T02:00:00Z",
            "archived_at": None,
        },
        "reason": None,
    },
    "kpis": {
        "status": "ok",
        "data": {
            "units": {"members_total": "members", "weekly_active_rate": "rate", "gmv_fen": "fen"},
            "windows": [
                {
                    "days": 7,
                    "start": "2026-11-17",
                    "end": "2026-11-23",
                    "values": {"members_total": 412, "weekly_active_rate": 0.54, "gmv_fen": 1286000},
                },
                {
                    "days": 30,
                    "start": "2026-10-25",
                    "end": "2026-11-23",
                    "values": {"members_total": 412, "weekly_active_rate": 0.54, "gmv_fen": 5120400},
                },
            ],
        },
        "reason": None,
    },
    "health": {
        "status": "ok",
        "data": {
            "as_of": "2026-11-22",
            "score": 71.5,
            "stage": "growth",
            "dimensions": {"members": 78.0, "content": 66.0, "business": 70.0, "health": 72.0},
            "metrics": [
                {"dimension": "members", "name": "weekly_active_rate", "value": 0.54, "score": 100.0, "target": 0.5}
            ],
        },
        "reason": None,
    },
    "schedule": {
        "status": "ok",
        "data": [
            {
                "id": "3c2b1a09-8f7e-46d5-a4b3-c2d1e0f9a8b7",
                "content_id": _CONTENT,
                "content_type": "knowledge",
                "publish_at": "2026-11-24T12:00:00Z",
                "status": "scheduled",
                "audience_size": None,
            }
        ],
        "reason": None,
    },
    "campaigns": {"status": "unavailable", "data": None, "reason": "campaign-svc answered 503."},
}
