"""docs/kpis.md, rendered from the KPI catalogue, the segment rules, the referral figures and the community
health model (`make docs`)."""

from analytics_svc.communities import health
from analytics_svc.kpis import catalogue
from analytics_svc.referrals import service as referrals
from analytics_svc.scoring import rfm


def _target(metric: health.Metric) -> str:
    bound = "at most" if metric.lower_is_better else "at least"
    return f"{bound} {metric.target:g}"


def _health_section() -> list[str]:
    h = health
    return [
        "## Community health and lifecycle stage",
        "",
        f"A community is evaluated over the {h.WINDOW_DAYS} days ending on the evaluation day. Each metric scores",
        "0-100: the share of its target reached (for a rate to keep low, the share of the target not used),",
        "capped at 100; a metric with no value (nothing to divide by) is left out. A dimension scores the mean",
        "of its metrics, the community the mean of its dimensions.",
        "",
        "| Dimension | Metric | Definition | Target |",
        "|---|---|---|---|",
        *(f"| {m.dimension} | `{m.name}` | {m.definition} | {_target(m)} |" for m in h.METRICS),
        "",
        "The stage is the first of these rules that holds (age: days since the community's first join;",
        f"growth: `member_growth` over the {h.WINDOW_DAYS} days):",
        "",
        f"1. `startup`: younger than {h.STARTUP_DAYS} days or fewer than {h.STARTUP_MEMBERS} members.",
        f"2. `decline`: health below {h.DECLINE_HEALTH:g}, or growth below {h.DECLINE_GROWTH:.0%}.",
        f"3. `mature`: at least {h.MATURE_DAYS} days old and growth below {h.MATURE_GROWTH:.0%} (or unknown).",
        "4. `growth`: everyone else.",
        "",
        "A change of stage is announced as `community.stage_changed`.",
        "",
    ]


def render() -> str:
    lines = [
        "# KPI reference",
        "",
        "Generated from `services/analytics-svc/src/analytics_svc/kpis/catalogue.py` by `make docs`; do not edit.",
        "",
        "Every KPI is computed per period — a day, an ISO week (Monday to Sunday) or a calendar month of the",
        "reporting zone, Asia/Shanghai — for the whole tenant or one community, from the daily counts and the",
        "daily sets of members analytics-svc keeps from the event stream. A rate over zero members is undefined",
        "(`null`), not zero.",
        "",
        "| KPI | Unit | Definition |",
        "|---|---|---|",
        *(f"| `{kpi.name}` | {kpi.unit} | {kpi.definition} |" for kpi in catalogue.every_kpi()),
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
        f"The churn score (0-1) weighs silence ({rfm.SILENCE_WEIGHT}: 1 - e^(-days silent / "
        f"{rfm.SILENCE_SCALE_DAYS:g})), a fading engagement trend ({rfm.FADING_WEIGHT}: the last week's",
        "decayed engagement against the last month's, below steady) and the chance the member is no longer a",
        f"customer ({rfm.DEAD_WEIGHT}: 1 - P(alive) of the tenant's BG/NBD model; silence again for members",
        "without purchases or tenants without a model). The flag is raised at "
        f"{rfm.FLAG_AT} and cleared below {rfm.CLEAR_BELOW} (hysteresis), never within "
        f"{rfm.GRACE_DAYS:g} days of joining; raising it emits `member.churn_risk` with the reasons.",
        "",
        "A member's scores, probability alive and lifetime value are computed when asked, against the",
        "tenant's last fit, so they are current to the moment. The segment and the churn flag are decisions:",
        "taken when an event rescores the member and at every refit, kept, and announced when they change.",
        "",
        "## Referrals",
        "",
        "Over a range of days (`GET /analytics/referrals`), from `member.joined` (its inviter), `member.invited`",
        f"and the runs of `{referrals.REFERRAL}` campaigns (`campaign.started` and `campaign.ended`):",
        "",
        "- Invites sent: the invitations members sent in the range.",
        "- Per inviter: invites sent, joins (members joining the brand for the first time by their invitation in",
        "  the range) and first orders (of those joiners, the ones who have ordered since).",
        "- Tree depth: the longest chain of invitations among the tenant's members.",
        "- K-factor (viral coefficient): referred first joins in the range divided by the members who had joined",
        "  before it — invitations sent per member times the joins each brings. Per community, the members new to",
        "  it by invitation over those who had joined it before the range. Per referral campaign, over the part of",
        "  its run inside the range: the brand's referred first joins then, over the members there when that part",
        "  began, with the invitations sent then. An erased inviter's invitations stay counted, tied to no one.",
        "",
        *_health_section(),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
