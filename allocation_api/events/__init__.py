"""Outgoing domain events: the transactional outbox and its SNS publisher.

`outbox.add_event` writes an event in the caller's transaction;
`publisher.Publisher` sends committed rows to the SNS topic (at least once,
in commit order per prisoner) and prunes what it has published.
"""
