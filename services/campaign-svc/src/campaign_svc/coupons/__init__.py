"""Coupon templates and the coupons issued from them, redeemed on orders and expired."""
