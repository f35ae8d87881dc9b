"""store tests."""
