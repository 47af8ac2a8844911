"""Campaigns of every kind: their schedule, budget account, per-member quotas and report."""
