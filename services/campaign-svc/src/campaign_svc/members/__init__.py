"""What campaigns know of members, learned from other services' events."""
