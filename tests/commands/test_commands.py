"""Commands run without GraphQL: a command value, a unit of work, the upstreams and
an actor in; the changed row out, or a typed domain error; the unit of work says
which owned keys changed."""

from __future__ import annotations

import pytest

from allocation_api.auth.identity import ROLE_ALLOC_MGR, Identity
from allocation_api.commands.actor import Actor
from allocation_api.commands.allocate import AllocatePrimary, allocate_primary
from allocation_api.commands.deallocate import Deallocate, deallocate
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.errors import Conflict, NotAllowed
from allocation_api.resolvers.context import RequestContext, new_context
from tests.conftest import RunningApi
from tests.e2e.api.helpers import ready_prisoner_and_pom
from tests.e2e.api.test_mutations import db_counts

SPO = Identity(
    subject="command-test",
    username="COMMAND_TEST",
    display_name="Command Test",
    roles=frozenset({ROLE_ALLOC_MGR}),
    client_id=None,
    auth_source="nomis",
    token_id=None,
)


async def _at(prisons: frozenset[str]) -> frozenset[str]:
    return prisons


def _run(api: RunningApi, prisons: frozenset[str]) -> tuple[UnitOfWork, Actor, RequestContext]:
    services = api.app.state.services
    return (
        UnitOfWork(services.sessions),
        Actor(SPO, lambda: _at(prisons)),
        new_context(services, SPO, "command-test"),
    )


async def test_allocate_then_deallocate_without_graphql(api: RunningApi) -> None:
    no, pom = await ready_prisoner_and_pom(api)
    upstreams = api.app.state.services.upstreams
    uow, actor, reads = _run(api, frozenset({"LEI"}))

    row = await allocate_primary(AllocatePrimary(no, pom["staffId"]), uow, upstreams, actor, reads)
    assert (row.offender_no, row.primary_pom_staff_id, row.version) == (no, pom["staffId"], 1)
    assert row.created_by_username == "COMMAND_TEST"
    assert uow.allocations_changed == {no}

    uow, actor, reads = _run(api, frozenset({"LEI"}))
    with pytest.raises(Conflict) as stale:
        await deallocate(
            Deallocate(no, primary=True, expected_version=0), uow, upstreams, actor, reads
        )
    assert (stale.value.code, stale.value.current_version) == ("STALE_VERSION", 1)
    assert uow.allocations_changed == set()

    row = await deallocate(
        Deallocate(no, primary=True, expected_version=1), uow, upstreams, actor, reads
    )
    assert (row.primary_pom_staff_id, row.version) == (None, 2)
    assert await db_counts(api.settings.database_url or "", no) == (1, 2)


async def test_an_actor_outside_the_prison_is_refused_and_nothing_is_written(
    api: RunningApi,
) -> None:
    no, pom = await ready_prisoner_and_pom(api)
    uow, actor, reads = _run(api, frozenset({"WWI"}))
    with pytest.raises(NotAllowed) as refused:
        await allocate_primary(
            AllocatePrimary(no, pom["staffId"]),
            uow,
            api.app.state.services.upstreams,
            actor,
            reads,
        )
    assert refused.value.code == "FORBIDDEN_PRISON"
    assert uow.allocations_changed == set()
    assert await db_counts(api.settings.database_url or "", no) == (0, 0)
