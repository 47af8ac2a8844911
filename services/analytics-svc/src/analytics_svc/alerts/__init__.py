"""Alerts: thresholds on KPIs over the last complete week, an alert raised when a rule enters a breach and
resolved when it leaves it."""
