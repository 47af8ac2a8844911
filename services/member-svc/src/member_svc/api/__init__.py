"""member-svc HTTP routes."""
