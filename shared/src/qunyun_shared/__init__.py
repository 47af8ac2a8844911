"""Qunyun platform library: mechanism and contracts shared by every service, no business logic."""
