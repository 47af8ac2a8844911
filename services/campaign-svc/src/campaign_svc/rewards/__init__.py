"""Rewards campaigns grant members: coupons, points and tags."""
