"""After everything else ran: the sandbox never received anything but reads."""

from __future__ import annotations

import pytest

from allocation_api.sandbox import Sandbox


def test_sandbox_received_only_reads(sandbox: Sandbox) -> None:
    counts = sandbox.request_counts()
    total = sum(sum(per.values()) for per in counts.values())
    if total == 0:
        pytest.skip("meaningful only after the API tests ran against this session's sandbox")
    assert sandbox.non_read_requests() == {}
