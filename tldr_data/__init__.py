"""Curation side of tldr."""
