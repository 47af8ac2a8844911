"""Rate limits per credential and per tenant, shared by every gateway replica through Redis."""
