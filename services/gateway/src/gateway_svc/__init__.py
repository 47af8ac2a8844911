"""gateway: the one API for front-ends: tenants, roles, rate limits, aggregated views, partner webhooks."""
