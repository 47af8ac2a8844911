"""Members' actions on content: reported in batches, counted once, learned from, and each item's statistics."""
