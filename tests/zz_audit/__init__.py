"""Runs last: audits over the whole session."""
