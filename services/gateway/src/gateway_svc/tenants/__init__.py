"""Tenants: onboarding a merchant onto the platform with its first credentials."""
