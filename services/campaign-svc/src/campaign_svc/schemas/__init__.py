"""campaign-svc API models, one module per part of the domain."""
