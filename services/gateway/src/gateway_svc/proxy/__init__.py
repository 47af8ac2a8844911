"""The public API of the services: the routing table of resources under /api/v1, and forwarding each request
to the service that owns its resource."""
