"""campaign-svc: orders, coupons, flash sales, group-buys, lotteries, check-ins, referral rewards, automation, A/B tests."""
