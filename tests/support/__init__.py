"""Test support: the real-infrastructure harness and helpers shared by every test tier."""
