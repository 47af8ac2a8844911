"""Cohorts and the funnel: retention and revenue of join cohorts, and members from joining to buying again."""
