"""What content-svc knows of communities and members, learned from events: who content reaches."""
