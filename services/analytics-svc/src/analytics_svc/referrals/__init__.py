"""Referrals: invitations sent, joins and first orders per inviter, the invitation tree, and the K-factor
of the tenant, its communities and its referral campaigns."""
