"""Each tenant's campaign settings: its time zone and quiet hours."""
