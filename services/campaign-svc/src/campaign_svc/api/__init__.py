"""campaign-svc HTTP routes."""
