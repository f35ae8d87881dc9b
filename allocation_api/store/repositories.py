"""Everything resolvers and commands call on the owned store, in one import.

Reads (`reads.py`) are batched for DataLoaders, one SQL statement per
batch; writes (`writes.py`) run inside the caller's transaction. All of
them translate driver failures into the domain exception tree
(`failures.py`).
"""

from __future__ import annotations

from allocation_api.store.failures import StoreConstraintViolation, translate_store_errors
from allocation_api.store.owned_records import OwnedRecord, owned_records_by_offender_nos
from allocation_api.store.reads import (
    allocation_status,
    caseloads_by_staff_ids,
    events_by_offender_nos,
    pom_details_by_keys,
)
from allocation_api.store.writes import (
    allocations_with_a_pom,
    append_event,
    lock_allocation,
    lock_cases_of_pom,
    lock_existing_allocation,
    lock_pom_detail,
    save_allocation,
)

__all__ = [
    "OwnedRecord",
    "StoreConstraintViolation",
    "allocation_status",
    "allocations_with_a_pom",
    "append_event",
    "caseloads_by_staff_ids",
    "events_by_offender_nos",
    "lock_allocation",
    "lock_cases_of_pom",
    "lock_existing_allocation",
    "lock_pom_detail",
    "owned_records_by_offender_nos",
    "pom_details_by_keys",
    "save_allocation",
    "translate_store_errors",
]
