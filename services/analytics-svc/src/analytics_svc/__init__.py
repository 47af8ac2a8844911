"""analytics-svc: KPIs, cohorts, funnels, RFM segments, churn risk, lifetime value, community health, alerts."""
