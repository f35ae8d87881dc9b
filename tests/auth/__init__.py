"""auth tests."""
