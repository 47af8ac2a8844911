"""A member's targeted feed (千人千面): what reached their communities for people like them, liked topics lifted."""
