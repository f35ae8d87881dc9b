"""allocation.changed and handover.changed end to end: written with the change,
published by the app's background publisher, received on a queue subscribed to
the topic with the exact HMPPS envelope and `eventType` attribute."""

from __future__ import annotations

import datetime as dt
from typing import Any

from allocation_api.commands.recalculate_handovers import recalculate_handovers
from allocation_api.commands.reconcile import reconcile
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.events.local_broker import LOCAL_CREDENTIALS, LOCAL_REGION, LocalBroker
from allocation_api.events.outbox import ALLOCATION_CHANGED, HANDOVER_CHANGED
from allocation_api.resolvers.context import today_in_london
from allocation_api.sandbox import Sandbox
from allocation_api.store.handovers import handovers_by_offender_nos
from tests.commands.test_case_facts import SET as SET_OVERRIDE
from tests.commands.test_handover_recalculation import DETERMINATE_WITH_PED
from tests.conftest import RunningApi, running_api, settings_for
from tests.e2e.api.helpers import (
    DEALLOCATE_PRIMARY,
    DEALLOCATE_SECONDARY,
    active_poms,
    allocate,
    co_work,
    fresh_prisoner,
    ready_prisoner_and_pom,
    set_tier,
)
from tests.e2e.events.conftest import engine_for, new_queue, outbox_rows, receive

ALLOCATION_ROWS = f"offender_no = :no AND event_type = '{ALLOCATION_CHANGED}'"
HANDOVER_ROWS = f"offender_no = :no AND event_type = '{HANDOVER_CHANGED}'"


def _summary(rows: list[Any]) -> list[tuple[str, Any, str, str]]:
    return [
        (
            r.event_type,
            r.payload["additionalInformation"]["staffCode"],
            r.payload["additionalInformation"]["eventTrigger"],
            r.state,
        )
        for r in rows
    ]


async def test_primary_changes_write_events_and_co_working_alone_does_not(api: RunningApi) -> None:
    """Allocate, co-work, reallocate, deallocate the co-worker, deallocate the primary:
    three allocation.changed rows (staffCode null on removal), none for co-working."""
    no, pom = await ready_prisoner_and_pom(api)
    engine = engine_for(api.settings.database_url or "")
    try:
        assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
        coworker = await co_work(api, no, pom["staffId"])
        after_co_working = await outbox_rows(engine, ALLOCATION_ROWS, no=no)
        assert len(after_co_working) == 1
        other = next(
            p
            for p in await active_poms(api, "LEI", pom["pomType"])
            if p["staffId"] not in (pom["staffId"], coworker)
        )
        assert (await allocate(api, no, other["staffId"]))["__typename"] == "Allocation"
        body = await api.gql(DEALLOCATE_SECONDARY, {"input": {"offenderNo": no}})
        assert body["data"]["deallocateSecondaryPom"]["__typename"] == "Allocation", body
        body = await api.gql(DEALLOCATE_PRIMARY, {"input": {"offenderNo": no}})
        assert body["data"]["deallocatePrimaryPom"]["__typename"] == "Allocation", body
        rows = await outbox_rows(engine, ALLOCATION_ROWS, no=no)
    finally:
        await engine.dispose()
    assert _summary(rows) == [
        (ALLOCATION_CHANGED, str(pom["staffId"]), "user", "pending"),
        (ALLOCATION_CHANGED, str(other["staffId"]), "user", "pending"),
        (ALLOCATION_CHANGED, None, "user", "pending"),
    ]
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
    first = rows[0].payload
    occurred = dt.datetime.fromisoformat(first["occurredAt"])
    assert occurred.utcoffset() is not None
    assert first == {
        "eventType": ALLOCATION_CHANGED,
        "version": 1,
        "description": "A POM allocation has changed",
        "detailUrl": f"/api/allocation/{no}/primary_pom",
        "occurredAt": first["occurredAt"],
        "additionalInformation": {
            "staffCode": str(pom["staffId"]),
            "prisonId": "LEI",
            "eventTrigger": "user",
        },
        "personReference": {"identifiers": [{"type": "NOMS", "value": no}]},
    }


async def test_refused_change_writes_no_event(api: RunningApi) -> None:
    no, pom = await ready_prisoner_and_pom(api)
    engine = engine_for(api.settings.database_url or "")
    try:
        assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
        again = await allocate(api, no, pom["staffId"])
        assert again["code"] == "ALREADY_PRIMARY_POM"
        stale = await allocate(api, no, pom["staffId"], expectedVersion=7)
        assert stale["__typename"] != "Allocation"
        assert len(await outbox_rows(engine, ALLOCATION_ROWS, no=no)) == 1
    finally:
        await engine.dispose()


async def test_release_by_reconcile_writes_removal_event(api: RunningApi) -> None:
    no, pom = await ready_prisoner_and_pom(api)
    assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
    api.sandbox.data.update_prisoner(no, prisonId="OUT")
    services = api.app.state.services
    await reconcile(UnitOfWork(services.sessions), services.upstreams)
    engine = engine_for(api.settings.database_url or "")
    try:
        rows = await outbox_rows(engine, ALLOCATION_ROWS, no=no)
    finally:
        await engine.dispose()
    assert _summary(rows) == [
        (ALLOCATION_CHANGED, str(pom["staffId"]), "user", "pending"),
        (ALLOCATION_CHANGED, None, "offender_released", "pending"),
    ]


async def test_app_publishes_exact_envelope_to_the_topic(
    sandbox: Sandbox, database_url: str, broker: LocalBroker
) -> None:
    """An API with a topic configured publishes in the background: the queue receives
    the SNS notification whose Message is the envelope, with the eventType attribute."""
    queue = await new_queue(broker)
    settings = settings_for(
        sandbox,
        database_url,
        events_topic_arn=broker.topic_arn,
        events_sns_endpoint_url=broker.endpoint,
        events_aws_region=LOCAL_REGION,
        events_aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
        events_aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
        events_detail_base_url="https://allocation.test/",
        events_publish_interval_s=0.05,
    )
    async with running_api(settings, sandbox) as api:
        no, pom = await ready_prisoner_and_pom(api)
        assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
        # Other tests' pending events in this database go out too: pick this prisoner's.
        # Its case information stored its first handover (handover.changed), then the
        # allocation (allocation.changed) left the handover dates as they were.
        mine = [
            m
            for m in await receive(broker.endpoint, queue, expected=2, patience=30)
            if m["envelope"]["personReference"]["identifiers"][0]["value"] == no
        ]
        received = [m for m in mine if m["envelope"]["eventType"] == ALLOCATION_CHANGED]
        handovers = [m for m in mine if m["envelope"]["eventType"] == HANDOVER_CHANGED]
        async with api.http.get(f"{api.url}/metrics") as response:
            metrics = await response.text()
    assert len(received) == 1
    notification, envelope = received[0]["notification"], received[0]["envelope"]
    assert notification["Type"] == "Notification"
    assert notification["TopicArn"] == broker.topic_arn
    assert notification["MessageAttributes"] == {
        "eventType": {"Type": "String", "Value": ALLOCATION_CHANGED}
    }
    assert envelope == {
        "eventType": ALLOCATION_CHANGED,
        "version": 1,
        "description": "A POM allocation has changed",
        "detailUrl": f"https://allocation.test/api/allocation/{no}/primary_pom",
        "occurredAt": envelope["occurredAt"],
        "additionalInformation": {
            "staffCode": str(pom["staffId"]),
            "prisonId": "LEI",
            "eventTrigger": "user",
        },
        "personReference": {"identifiers": [{"type": "NOMS", "value": no}]},
    }
    assert dt.datetime.fromisoformat(envelope["occurredAt"]).utcoffset() is not None
    assert len(handovers) == 1
    assert handovers[0]["notification"]["MessageAttributes"] == {
        "eventType": {"Type": "String", "Value": HANDOVER_CHANGED}
    }
    handover = handovers[0]["envelope"]
    assert handover == {
        "eventType": HANDOVER_CHANGED,
        "version": 1,
        "description": "Handover date and/or responsibility was updated",
        "detailUrl": f"https://allocation.test/api/handovers/{no}",
        "occurredAt": handover["occurredAt"],
        "additionalInformation": {},
        "personReference": {"identifiers": [{"type": "NOMS", "value": no}]},
    }
    assert dt.datetime.fromisoformat(handover["occurredAt"]).utcoffset() is not None
    published = [
        line
        for line in metrics.splitlines()
        if line.startswith("allocation_api_events_published_total")
    ]
    assert published
    assert float(published[0].split()[-1]) >= 1


async def test_handover_changed_only_when_a_stored_date_moves(api: RunningApi) -> None:
    """The first stored handover and every move of its start or handover date write
    handover.changed in the transaction that stores it; a recalculation that leaves
    the dates (responsibility or reason alone, or nothing) writes none."""
    services = api.app.state.services
    no = await fresh_prisoner(api, "MDI")
    api.sandbox.data.update_prisoner(no, **DETERMINATE_WITH_PED)
    engine = engine_for(api.settings.database_url or "")
    try:
        await set_tier(api, no, "C")  # the first stored handover: PED - 12 months
        assert len(await outbox_rows(engine, HANDOVER_ROWS, no=no)) == 1

        await set_tier(api, no, "D")  # nothing the rules read changed: no write
        assert len(await outbox_rows(engine, HANDOVER_ROWS, no=no)) == 1

        # A responsibility override changes the responsibility and the reason only.
        body = await api.gql(
            SET_OVERRIDE,
            {
                "input": {
                    "offenderNo": no,
                    "responsibility": "PROBATION",
                    "reason": "PRISONER_RECALLED",
                }
            },
        )
        assert body["data"]["setResponsibilityOverride"]["__typename"] == "ResponsibilityOverride"
        stored = await handovers_by_offender_nos(services.reads, [no])
        assert stored[no].reason == "OVERRIDE"
        assert len(await outbox_rows(engine, HANDOVER_ROWS, no=no)) == 1

        # NOMIS moves the parole eligibility date: the nightly recalculation sees it.
        api.sandbox.data.update_prisoner(no, paroleEligibilityDate="2030-09-15")
        uow = UnitOfWork(services.sessions)
        report = await recalculate_handovers(
            uow, services.upstreams, prisons=["MDI"], today=today_in_london()
        )
        assert report.failed == 0
        rows = await outbox_rows(engine, HANDOVER_ROWS, no=no)
        assert [r.payload["detailUrl"] for r in rows] == [f"/api/handovers/{no}"] * 2
        assert rows[0].seq < rows[1].seq

        # Run again: the dates stand, nothing more is written.
        await recalculate_handovers(
            uow, services.upstreams, prisons=["MDI"], today=today_in_london()
        )
        assert len(await outbox_rows(engine, HANDOVER_ROWS, no=no)) == 2
    finally:
        await engine.dispose()
