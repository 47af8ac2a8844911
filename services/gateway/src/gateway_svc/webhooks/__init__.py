"""Partner webhooks: signing deliveries and guarding the URLs they go to."""
