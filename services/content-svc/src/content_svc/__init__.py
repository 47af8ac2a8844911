"""content-svc: content matrix, calendar and scheduling, moderation, engagement, targeted feeds, surveys."""
