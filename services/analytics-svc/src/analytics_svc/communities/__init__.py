"""Communities as analytics sees them: members now, health and lifecycle stage, top content, KPIs over
trailing windows."""
