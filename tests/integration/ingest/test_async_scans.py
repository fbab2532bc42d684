"""The event-loop path the HTTP edge takes: decisions on the loop, appends through one shared group commit."""

import asyncio

from core.errors import RuleViolation
from ingest.service import GroupCommit, ScanOutcome, ScanService
from projections.store import EventStore
from tests.integration.ingest.conftest import OPERATOR, ScanDesk


def test_scans_from_many_coroutines_share_commits_and_each_gets_its_answer(
    desk: ScanDesk, service: ScanService, store: EventStore
) -> None:
    jobs = [desk.new_job(sets=2) for _ in range(8)]
    scans = [desk.make(f"{job}-S{n:03d}", "PRESS-1") for job in jobs for n in (1, 2)]
    appended: list[int] = []
    commit = GroupCommit(store)
    original = store.append_many

    def counted(appends):  # type: ignore[no-untyped-def]
        appended.append(len(appends))
        return original(appends)

    store.append_many = counted  # type: ignore[method-assign]

    async def floor() -> list[ScanOutcome]:
        return await asyncio.gather(*(service.submit_scan_async(scan, OPERATOR, commit) for scan in scans))

    try:
        outcomes = asyncio.run(floor())
    finally:
        commit.close()
    assert [o.entity_id for o in outcomes] == [s.barcode for s in scans]
    assert {o.command for o in outcomes} == {"StartOperation"}
    assert sum(appended) == len(scans)
    assert len(appended) < len(scans)  # appends that queued during a commit went into the next one


def test_two_coroutines_scanning_one_sheet_at_once_are_serialized_by_a_conflict(
    desk: ScanDesk, service: ScanService, store: EventStore
) -> None:
    sheet = f"{desk.new_job()}-S001"
    first, second = desk.make(sheet, "PRESS-1"), desk.make(sheet, "PRESS-1")
    commit = GroupCommit(store)

    async def both() -> list[ScanOutcome | BaseException]:
        return await asyncio.gather(
            service.submit_scan_async(first, OPERATOR, commit),
            service.submit_scan_async(second, OPERATOR, commit),
            return_exceptions=True,
        )

    try:
        outcomes = asyncio.run(both())
    finally:
        commit.close()
    # Both were decided as a start against the same version; one won, the other was decided again: a completion.
    assert sorted(o.command for o in outcomes if isinstance(o, ScanOutcome)) == ["CompleteOperation", "StartOperation"]
    version, events = store.load_aggregate(sheet)
    assert [e.event_type for e in events] == ["SheetCreated", "OperationStarted", "OperationCompleted"]
    assert version == 3


def test_a_rejected_scan_on_the_loop_is_recorded_like_any_other(
    desk: ScanDesk, service: ScanService, store: EventStore
) -> None:
    sheet = f"{desk.new_job()}-S001"
    too_early = desk.make(sheet, "CUT-1")
    commit = GroupCommit(store)

    async def twice() -> list[ScanOutcome | BaseException]:
        results: list[ScanOutcome | BaseException] = []
        for _ in range(2):
            try:
                results.append(await service.submit_scan_async(too_early, OPERATOR, commit))
            except RuleViolation as error:
                results.append(error)
        return results

    try:
        results = asyncio.run(twice())
    finally:
        commit.close()
    assert all(isinstance(r, RuleViolation) for r in results)
    assert store.lookup_scan(too_early.scan_id) is not None
