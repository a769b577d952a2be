"""The reference networks of the papers."""
