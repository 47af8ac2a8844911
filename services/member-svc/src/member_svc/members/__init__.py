"""Members: profiles (phones sealed), finding them, and their lifecycle."""
