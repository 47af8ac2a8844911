"""Aggregated views for front-ends: one request, the parts of one subject every service holds."""
