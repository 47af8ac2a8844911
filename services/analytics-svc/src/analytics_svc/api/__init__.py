"""analytics-svc HTTP routes."""
