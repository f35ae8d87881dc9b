"""Unit tests of small shared pieces."""
