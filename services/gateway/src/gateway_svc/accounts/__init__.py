"""A tenant's credentials: operator accounts (passwords, sign-in sessions, access tokens) and API keys, and
recognising a caller by either."""
