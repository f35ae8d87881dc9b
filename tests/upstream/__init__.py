"""upstream tests."""
