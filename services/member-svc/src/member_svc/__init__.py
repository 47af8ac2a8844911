"""member-svc: communities, members, tags, points and levels, referrals, consent and personal-data rights."""
