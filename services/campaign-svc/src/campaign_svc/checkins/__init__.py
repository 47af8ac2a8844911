"""Check-in challenges (21-day 打卡): daily check-ins, streaks and milestone rewards."""
