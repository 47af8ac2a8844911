"""Lotteries (抽奖), provably fair: draws from a committed seed, in a hash-chained audit log."""
