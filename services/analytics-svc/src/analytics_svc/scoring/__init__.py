"""Scoring: members' RFM scores, value segments, churn risk and lifetime value, against each tenant's
fitted model, and the refit that keeps the model and the decisions current."""
