"""Bulk imports of members from CSV, in the background."""
