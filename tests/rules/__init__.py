"""rules tests."""
