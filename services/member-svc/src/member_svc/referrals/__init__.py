"""Referrals (裂变): invite codes, invitations members send, and the inviter tree."""
