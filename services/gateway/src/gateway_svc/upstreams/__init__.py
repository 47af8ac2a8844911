"""The services behind the gateway: forwarding to them, guarding them, and their API documents."""
