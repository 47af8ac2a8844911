"""Questionnaires and NPS surveys carried by content: answers checked, counted once, and their results."""
