"""Per-request DataLoaders: every lookup by key is batched.

One `Loaders` is made per GraphQL request (in `resolvers/context.py`), so batching and
memoisation never leak between callers. Store loaders issue ONE SQL
statement per batch (`= ANY(...)`) on the read pool (`store/read_pool.py`),
which lends each statement its own connection, so loaders can run
concurrently.
Upstream loaders make ONE upstream call per batch (chunked by the client to
the configured batch size) and consult the cross-request caches first.
Names follow `<Thing>By<Key>Loader` habits, as attributes.
While tracing is on, each batch function (and each KeyedOnce lookup) runs in
a `loader <name>` span with its key count; while it is off the functions are
used unwrapped, so batching costs nothing extra.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from allocation_api import tracing
from allocation_api.keyed_once import KeyedOnce
from allocation_api.resolvers.prison_roll import PrisonRoll
from allocation_api.resolvers.shared_caches import SharedCaches
from allocation_api.store import repositories as repo
from allocation_api.store.handovers import handovers_by_offender_nos
from allocation_api.store.owned_records import OwnedRecord, owned_records_by_offender_nos
from allocation_api.store.read_pool import Reader
from allocation_api.store.views import (
    AllocationEventView,
    AllocationView,
    CalculatedHandoverView,
    CaseInformationView,
    PomDetailView,
)
from allocation_api.upstream import Upstreams
from allocation_api.upstream.models import Agency, Prisoner, StaffDetail, StaffRole

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")


def _traced(name: str, fn: Callable[[list[K]], Awaitable[R]]) -> Callable[[list[K]], Awaitable[R]]:
    """`fn` in a span per batch while tracing is on (decided when the request starts)."""
    if not tracing.enabled():
        return fn

    async def batch(keys: list[K]) -> R:
        with tracing.span(f"loader {name}", {"loader.name": name, "loader.keys": len(keys)}):
            return await fn(keys)

    return batch


def _traced_one(name: str, fn: Callable[[K], Awaitable[R]]) -> Callable[[K], Awaitable[R]]:
    """`fn` in a span per lookup while tracing is on (the KeyedOnce memos: one key)."""
    if not tracing.enabled():
        return fn

    async def lookup(key: K) -> R:
        with tracing.span(f"loader {name}", {"loader.name": name, "loader.keys": 1}):
            return await fn(key)

    return lookup


def _one_per_key(
    reader: Reader,
    fetch: Callable[[Reader, Sequence[K]], Awaitable[Mapping[K, V]]],
) -> Callable[[list[K]], Awaitable[list[V | None]]]:
    """A store batch read for at most one row per key (None when absent)."""

    async def load(keys: list[K]) -> list[V | None]:
        found = await fetch(reader, keys)
        return [found.get(key) for key in keys]

    return load


def _many_per_key(
    name: str,
    reader: Reader,
    fetch: Callable[[Reader, Sequence[K]], Awaitable[Mapping[K, list[V]]]],
) -> DataLoader[K, list[V]]:
    """A store loader for a list of rows per key (empty when absent)."""

    async def load(keys: list[K]) -> list[list[V]]:
        found = await fetch(reader, keys)
        return [found.get(key, []) for key in keys]

    return DataLoader(load_fn=_traced(name, load))


async def _load_owned(reader: Reader, nos: list[str]) -> list[OwnedRecord]:
    found = await owned_records_by_offender_nos(reader, nos)
    return [found.get(no) or OwnedRecord(offender_no=no) for no in nos]


class Loaders:
    """All loaders of one request."""

    def __init__(
        self,
        reader: Reader,
        upstreams: Upstreams,
        caches: SharedCaches,
        *,
        max_batch_size: int,
    ) -> None:
        # --- bulk reads ----------------------------------------------------
        # The batch functions of the loaders below. A page resolver knows all of
        # its keys at once and calls them directly: one call, without a
        # DataLoader's future, done callback and batch bookkeeping per key (a
        # tenth of a page's CPU when the page went through `load_many`). What
        # they return is handed to the page's nodes, not memoised in a loader.
        self.owned_records: Callable[[list[str]], Awaitable[list[OwnedRecord]]] = _traced(
            "owned_records", functools.partial(_load_owned, reader)
        )
        """Owned records of these prisoners: ONE statement."""
        self.pom_details: Callable[
            [list[tuple[int, str]]], Awaitable[list[PomDetailView | None]]
        ] = _traced("pom_details", _one_per_key(reader, repo.pom_details_by_keys))
        """Owned POM details by (staff id, prison): ONE statement."""

        # --- owned store ---------------------------------------------------
        # Allocation, case information and the handover inputs of a prisoner
        # come from ONE statement per batch (see store/owned_records.py).
        self.owned_by_offender_no: DataLoader[str, OwnedRecord] = DataLoader(
            load_fn=self.owned_records
        )
        self.stored_handover_by_offender_no: DataLoader[str, CalculatedHandoverView | None] = (
            DataLoader(load_fn=_one_per_key(reader, handovers_by_offender_nos))
        )
        """The stored handover (`calculated_handover`) by prisoner: ONE statement per batch."""
        self.events_by_offender_no: DataLoader[str, list[AllocationEventView]] = _many_per_key(
            "events_by_offender_no", reader, repo.events_by_offender_nos
        )
        self.pom_detail_by_key: DataLoader[tuple[int, str], PomDetailView | None] = DataLoader(
            load_fn=self.pom_details
        )
        self.caseload_by_staff_and_prison: DataLoader[tuple[int, str], list[AllocationView]] = (
            DataLoader(load_fn=_traced("caseloads", functools.partial(_caseloads, reader)))
        )

        # --- upstream ------------------------------------------------------
        # The batch functions are partials of module functions, not bound methods:
        # a loader holding a method of this object would make a reference cycle,
        # and a request's loaders (with everything they read) would wait for the
        # cyclic garbage collector instead of going when the request does.
        rolls: list[PrisonRoll] = []
        self.prisoners: Callable[[list[str]], Awaitable[list[Prisoner | None]]] = _traced(
            "prisoners", functools.partial(_prisoners, upstreams, caches, rolls)
        )
        """Prisoners by number (`prisoner_by_no`'s batch function, also a bulk read)."""
        self.prisoner_by_no: DataLoader[str, Prisoner | None] = DataLoader(
            load_fn=self.prisoners, max_batch_size=max_batch_size
        )
        self.prisoners_by_page: DataLoader[tuple[str, ...], list[Prisoner | None]] = DataLoader(
            load_fn=_traced("prisoner_pages", functools.partial(_prisoner_pages, self.prisoners))
        )
        """Prisoners of whole pages (a caseload's): pages resolved side by side (the
        co-workers' caseloads under a page's nodes) share ONE bulk read, with one
        future per page rather than one per prisoner."""
        # One key per request (the prison, its roll, its POM list): memoised, not
        # batched, so a cache hit costs no turn of the event loop (keyed_once.py).
        self.roll_by_prison: KeyedOnce[str, PrisonRoll] = KeyedOnce(
            _traced_one("roll_by_prison", functools.partial(_prison_roll, upstreams, caches, rolls))
        )
        self.poms_by_prison: KeyedOnce[str, list[StaffRole]] = KeyedOnce(
            _traced_one("poms_by_prison", functools.partial(_poms, upstreams, caches))
        )
        self.staff_by_id: DataLoader[int, StaffDetail | None] = DataLoader(
            load_fn=_traced("staff_by_id", functools.partial(_staff, upstreams, caches)),
            max_batch_size=max_batch_size,
        )
        self.agency_by_id: KeyedOnce[str, Agency | None] = KeyedOnce(
            _traced_one("agency_by_id", functools.partial(_agency, upstreams, caches))
        )

    async def allocation(self, offender_no: str) -> AllocationView | None:
        return (await self.owned_by_offender_no.load(offender_no)).allocation

    async def case_information(self, offender_no: str) -> CaseInformationView | None:
        return (await self.owned_by_offender_no.load(offender_no)).case_information


async def _caseloads(reader: Reader, keys: list[tuple[int, str]]) -> list[list[AllocationView]]:
    """Caseloads by (staff id, prison): one statement per prison among the keys."""
    by_prison: dict[str, list[int]] = {}
    for staff_id, prison in keys:
        by_prison.setdefault(prison, []).append(staff_id)
    found: dict[tuple[int, str], list[AllocationView]] = {}
    for prison, staff_ids in by_prison.items():
        rows = await repo.caseloads_by_staff_ids(reader, prison, staff_ids)
        for staff_id in staff_ids:
            found[(staff_id, prison)] = rows.get(staff_id, [])
    return [found[key] for key in keys]


async def _prisoners(
    upstreams: Upstreams, caches: SharedCaches, rolls: list[PrisonRoll], nos: list[str]
) -> list[Prisoner | None]:
    """Prisoners by number: rolls read by this request (`rolls`), the shared cache,
    then ONE upstream call for the rest (chunked by the client to the batch size)."""
    # Prisoners on a roll this request already read need no upstream call.
    known: dict[str, Prisoner | None] = {
        no: p for no in nos for roll in rolls if (p := roll.by_number.get(no))
    }
    missing = [no for no in nos if no not in known]

    async def fetch(keys: list[str]) -> dict[str, Prisoner | None]:
        found = await upstreams.prisoner_search.prisoners_by_numbers(keys)
        return {p.prisonerNumber: p for p in found}

    if missing:
        fetched = await caches.prisoner_by_no.get_many(missing, fetch, absent=None)
        known.update(zip(missing, fetched, strict=True))
    return [known.get(no) for no in nos]


async def _prisoner_pages(
    prisoners: Callable[[list[str]], Awaitable[list[Prisoner | None]]],
    pages: list[tuple[str, ...]],
) -> list[list[Prisoner | None]]:
    """The prisoners of every page, from ONE bulk read of their numbers."""
    nos = list(dict.fromkeys(no for page in pages for no in page))
    found = dict(zip(nos, await prisoners(nos), strict=True))
    return [[found[no] for no in page] for page in pages]


async def _prison_roll(
    upstreams: Upstreams, caches: SharedCaches, rolls: list[PrisonRoll], prison: str
) -> PrisonRoll:
    """A prison's roll (shared cache first), remembered in `rolls` for `_prisoners`."""
    client = upstreams.prisoner_search

    async def fetch(prison: str) -> PrisonRoll:
        return PrisonRoll(prison, await client.all_prisoners_in_prison(prison))

    roll = await caches.prisoners_by_prison.get(prison, _bind(fetch, prison))
    rolls.append(roll)
    return roll


async def _poms(upstreams: Upstreams, caches: SharedCaches, prison: str) -> list[StaffRole]:
    client = upstreams.prison_api
    return await caches.poms_by_prison.get(prison, _bind(client.poms_at_prison, prison))


async def _staff(
    upstreams: Upstreams, caches: SharedCaches, ids: list[int]
) -> list[StaffDetail | None]:
    async def fetch(missing: list[int]) -> dict[int, StaffDetail | None]:
        found = await upstreams.prison_api.staff_by_ids(missing)
        return {s.staffId: s for s in found}

    return await caches.staff_by_id.get_many(ids, fetch, absent=None)


async def _agency(upstreams: Upstreams, caches: SharedCaches, code: str) -> Agency | None:
    client = upstreams.prison_api
    return await caches.agency_by_id.get(code, _bind(client.agency, code))


def _bind(fn: Callable[[K], Awaitable[V]], arg: K) -> Callable[[], Awaitable[V]]:
    def call() -> Awaitable[V]:
        return fn(arg)

    return call


def forget(loader: DataLoader[K, Any], *keys: K) -> None:
    """Drop memoised values after this request's own write (absent keys are fine)."""
    for key in keys:
        with contextlib.suppress(KeyError):
            loader.clear(key)
