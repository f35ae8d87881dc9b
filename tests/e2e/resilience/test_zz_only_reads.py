"""After the resilience tests: their sandbox, faults and all, only ever received reads."""

from __future__ import annotations

from allocation_api.sandbox import Sandbox


def test_the_resilience_sandbox_received_only_reads(box: Sandbox) -> None:
    assert box.non_read_requests() == {}
