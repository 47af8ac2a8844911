"""History imports: a merchant's files of members, orders, check-ins, content and engagement, fed a batch at a
time to the services' history endpoints by a background worker that picks up where the last one stopped."""
