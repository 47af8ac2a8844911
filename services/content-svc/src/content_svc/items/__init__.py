"""The content library: operators' items (PGC, OGC) and members' posts (UGC), screened before anyone sees them."""
