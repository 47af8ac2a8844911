"""Ingestion: each consumer batch of measured events into the facts of members, orders and content items,
and the day's counts and member sets, in a handful of statements."""
