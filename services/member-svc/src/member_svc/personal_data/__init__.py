"""Personal data under PIPL: identifiers encrypted and masked, who may see them, consent, and members' rights
to a copy of their data and to its erasure."""
