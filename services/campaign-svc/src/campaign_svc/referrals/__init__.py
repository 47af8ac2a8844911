"""Referral fission (裂变): inviters rewarded for their invitees' first join and first paid order."""
