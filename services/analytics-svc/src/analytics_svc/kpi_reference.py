"""docs/kpis.md, rendered from the KPI catalogue and the segment rules (`make docs`)."""

from analytics_svc import kpis, scoring


def render() -> str:
    lines = [
        "# KPI reference",
        "",
        "Generated from `services/analytics-svc/src/analytics_svc/kpis.py` by `make docs`; do not edit.",
        "",
        "Every KPI is computed per period — a day, an ISO week (Monday to Sunday) or a calendar month of the",
        "reporting zone, Asia/Shanghai — for the whole tenant or one community, from the daily counts and the",
        "daily sets of members analytics-svc keeps from the event stream. A rate over zero members is undefined",
        "(`null`), not zero.",
        "",
        "| KPI | Unit | Definition |",
        "|---|---|---|",
        *(f"| `{kpi.name}` | {kpi.unit} | {kpi.definition} |" for kpi in kpis.every_kpi()),
        "",
        "## Segments and churn risk",
        "",
        "RFM scores are quintiles (1-5) over the tenant's members, refitted by the full recompute: recency is",
        "days since the last activity (since joining for members never active; fewer days score higher),",
        "frequency paid orders and monetary net spend, both among members who bought (non-buyers score 1).",
        "",
        "- `churn_risk`: the churn flag is raised.",
        "- `high_value`: recency ≥ 3, frequency ≥ 4 and monetary ≥ 4.",
        "- `potential`: otherwise recency ≥ 4, or recency ≥ 3 with frequency ≥ 2 and monetary ≥ 3.",
        "- `ordinary`: everyone else.",
        "",
        f"The churn score (0-1) weighs silence ({scoring.SILENCE_WEIGHT}: 1 - e^(-days silent / "
        f"{scoring.SILENCE_SCALE_DAYS:g})), a fading engagement trend ({scoring.FADING_WEIGHT}: the last week's",
        "decayed engagement against the last month's, below steady) and the chance the member is no longer a",
        f"customer ({scoring.DEAD_WEIGHT}: 1 - P(alive) of the tenant's BG/NBD model; silence again for members",
        "without purchases or tenants without a model). The flag is raised at "
        f"{scoring.FLAG_AT} and cleared below {scoring.CLEAR_BELOW} (hysteresis), never within "
        f"{scoring.GRACE_DAYS:g} days of joining; raising it emits `member.churn_risk` with the reasons.",
        "",
        "A member's scores, probability alive and lifetime value are computed when asked, against the",
        "tenant's last fit, so they are current to the moment. The segment and the churn flag are decisions:",
        "taken when an event rescores the member and at every refit, kept, and announced when they change.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
