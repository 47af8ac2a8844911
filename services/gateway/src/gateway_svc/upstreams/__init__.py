"""The services behind the gateway, as the gateway reaches them: the HTTP clients, retries, a circuit breaker
per service and their metrics."""
