"""The cross-request memo of the handover rules answers only for the same record
object, the same owned facts and the same day, and stays bounded."""

from __future__ import annotations

import datetime as dt

from allocation_api.resolvers.shared_caches import HandoverMemo
from allocation_api.rules.handover import Handover, OwnedFacts

TODAY = dt.date(2026, 11, 30)


class Record:
    """Stands in for a prisoner record (identity is what counts)."""


def _memo_calls(memo: HandoverMemo, record: object, facts: OwnedFacts, day: dt.date) -> int:
    calls = []

    def compute() -> Handover:
        calls.append(1)
        return Handover.__new__(Handover)

    memo.get(record, facts, day, compute)
    return len(calls)


def test_same_record_facts_and_day_are_answered_from_the_memo() -> None:
    memo, record, facts = HandoverMemo(maxsize=10), Record(), OwnedFacts(mappa_level=2)
    assert _memo_calls(memo, record, facts, TODAY) == 1
    assert _memo_calls(memo, record, OwnedFacts(mappa_level=2), TODAY) == 0


def test_other_facts_day_or_record_object_are_computed_afresh() -> None:
    memo, record, facts = HandoverMemo(maxsize=10), Record(), OwnedFacts()
    assert _memo_calls(memo, record, facts, TODAY) == 1
    assert _memo_calls(memo, record, OwnedFacts(early_allocation=True), TODAY) == 1
    assert _memo_calls(memo, record, facts, TODAY + dt.timedelta(days=1)) == 1
    assert _memo_calls(memo, Record(), facts, TODAY) == 1  # a fresh read of the prisoner


def test_the_memo_is_bounded() -> None:
    memo = HandoverMemo(maxsize=3)
    records = [Record() for _ in range(5)]
    for record in records:
        _memo_calls(memo, record, OwnedFacts(), TODAY)
    assert len(memo._entries) <= 3
    assert _memo_calls(memo, records[0], OwnedFacts(), TODAY) == 1  # dropped when full
    assert _memo_calls(memo, records[0], OwnedFacts(), TODAY) == 0
