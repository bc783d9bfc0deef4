"""Training side of tldr."""
