"""Everything resolvers and commands call on the owned store, in one import.

Reads (`reads.py`) are batched for DataLoaders, one SQL statement per
batch; writes (`writes.py`, `idempotency.py`) run inside the caller's
transaction. All of them translate driver failures into the domain
exception tree (`failures.py`).
"""

from __future__ import annotations

from allocation_api.store.failures import StoreConstraintViolation, translate_store_errors
from allocation_api.store.idempotency import (
    find_idempotent_response,
    record_idempotent_response,
)
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
    lock_case_information,
    lock_cases_of_pom,
    lock_existing_allocation,
    lock_pom_detail,
    save_allocation,
    upsert_case_information,
    upsert_pom_detail,
)

__all__ = [
    "OwnedRecord",
    "StoreConstraintViolation",
    "allocation_status",
    "allocations_with_a_pom",
    "append_event",
    "caseloads_by_staff_ids",
    "events_by_offender_nos",
    "find_idempotent_response",
    "lock_allocation",
    "lock_case_information",
    "lock_cases_of_pom",
    "lock_existing_allocation",
    "lock_pom_detail",
    "owned_records_by_offender_nos",
    "pom_details_by_keys",
    "record_idempotent_response",
    "save_allocation",
    "translate_store_errors",
    "upsert_case_information",
    "upsert_pom_detail",
]
