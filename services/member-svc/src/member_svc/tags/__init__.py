"""Tags on members: set by operators, kept by tag rules, or set from analytics' segments and churn risk."""
