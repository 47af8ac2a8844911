"""Communities and who is in them: creating and archiving them, entry rules and applications, seats,
the waitlist and sibling communities, joins and leaves."""
