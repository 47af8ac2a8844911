"""Points and levels: the ledger members earn into and spend from, each tenant's earn rules and level ladder,
and what the events member-svc consumes do to members (points earned or clawed back, activity, flags, segments)."""
