"""Operator accounts: passwords, sign-in sessions and the operators of a tenant."""
