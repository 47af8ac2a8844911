"""gateway HTTP routes."""
