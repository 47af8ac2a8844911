"""Automation rules (when an event, if conditions, then actions), the engine that runs them, their log."""
