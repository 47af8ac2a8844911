"""Partner webhooks: the endpoints tenants subscribe, the fan-out of public events to them, sending signed
deliveries to guarded URLs, and the delivery log with its replays."""
