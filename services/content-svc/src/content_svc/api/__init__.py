"""content-svc HTTP routes."""
