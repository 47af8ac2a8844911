"""Orders placed by members or pushed by merchants: paid, cancelled, refunded."""
