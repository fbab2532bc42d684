"""Each injected anomaly is in the log where and when `truth.parquet` says it is."""

import statistics
from collections import defaultdict
from datetime import timedelta

from apps.simulate.truth import TruthRow
from core.envelope import RecordedEvent
from core.events import (
    COMPLETING_EVENT_TYPES,
    CardUnitVoided,
    JobCreated,
    OperationStarted,
    QAResultRecorded,
    SetPacked,
)
from core.ids import parse_card_unit_id
from projections.data_dir import DEFAULT_FACTORY, load_factory
from tests.apps.simulate.conftest import SimulatedPlant


def rows(plant: SimulatedPlant, kind: str) -> list[TruthRow]:
    found = [row for row in plant.truth if row.anomaly_type == kind]
    assert found, f"no {kind} in the ground truth"
    return found


def first_inspections(plant: SimulatedPlant) -> list[tuple[RecordedEvent, QAResultRecorded]]:
    return [(e, e.event) for e in plant.log if isinstance(e.event, QAResultRecorded) and e.event.attempt == 1]


def failure_rate(inspections: list[tuple[RecordedEvent, QAResultRecorded]]) -> float:
    assert len(inspections) > 100
    return sum(result.result == "FAIL" for _, result in inspections) / len(inspections)


def test_a_slow_operation_starts_and_completes_where_and_when_the_truth_says_and_takes_over_twice_standard(
    plant: SimulatedPlant,
) -> None:
    standard = {
        op.operation_id: op.standard_minutes
        for product in load_factory(DEFAULT_FACTORY).products
        for op in product.operations
    }
    starts = {
        (e.aggregate_id, e.event.operation_id, e.occurred_at): e
        for e in plant.log
        if isinstance(e.event, OperationStarted)
    }
    completions = {
        (e.aggregate_id, e.event.operation_id, e.occurred_at): e  # type: ignore[attr-defined]
        for e in plant.log
        if e.event_type in COMPLETING_EVENT_TYPES
    }
    for row in rows(plant, "slow_operation"):
        assert row.entity_id
        assert row.operation_id
        assert row.end
        started = starts[(row.entity_id, row.operation_id, row.start)]
        completed = completions[(row.entity_id, row.operation_id, row.end)]
        assert started.station_id == completed.station_id == row.station_id
        assert started.operator_id == row.operator_id
        assert row.end - row.start > timedelta(minutes=2 * standard[row.operation_id])


def sheets_under_the_damaged_die(plant: SimulatedPlant) -> set[str]:
    (die,) = rows(plant, "foil_die_failure")
    assert die.end is not None
    return {
        e.aggregate_id
        for e in plant.log
        if isinstance(e.event, OperationStarted)
        and e.event.station_id == die.station_id
        and die.start <= e.occurred_at < die.end
    }


def test_cards_of_sheets_foiled_while_the_die_was_damaged_fail_qa_far_more_often(plant: SimulatedPlant) -> None:
    damaged = sheets_under_the_damaged_die(plant)
    assert damaged
    foiled_jobs = {
        e.event.job_id for e in plant.log if isinstance(e.event, JobCreated) and e.event.product_id == "base-18up"
    }
    inspections = [(e, r) for e, r in first_inspections(plant) if e.job_id in foiled_jobs]
    on_damaged = [(e, r) for e, r in inspections if parse_card_unit_id(e.aggregate_id).sheet_id in damaged]
    foiled_before_or_after = [
        (e, r) for e, r in inspections if parse_card_unit_id(e.aggregate_id).sheet_id not in damaged
    ]
    assert failure_rate(on_damaged) > 3 * failure_rate(foiled_before_or_after)
    codes = [code for _, r in on_damaged if r.result == "FAIL" for code in r.failure_codes]
    assert sum(code.startswith("FOIL") for code in codes) > len(codes) / 2


def test_the_elevated_operator_fails_cards_more_often_than_the_other_inspectors(plant: SimulatedPlant) -> None:
    (row,) = rows(plant, "operator_elevated_failure")
    damaged = sheets_under_the_damaged_die(plant)
    inspections = [
        (e, r) for e, r in first_inspections(plant) if parse_card_unit_id(e.aggregate_id).sheet_id not in damaged
    ]
    theirs = [(e, r) for e, r in inspections if e.operator_id == row.operator_id]
    others = [(e, r) for e, r in inspections if e.operator_id != row.operator_id]
    assert failure_rate(theirs) > 2 * failure_rate(others)
    assert {e.station_id for e, _ in theirs} == {row.station_id}


def test_the_drifting_station_is_slower_after_the_onset_than_before(plant: SimulatedPlant) -> None:
    (row,) = rows(plant, "station_drift")
    assert row.end is not None
    started: dict[str, RecordedEvent] = {}
    before: list[float] = []
    late: list[float] = []
    second_half = row.start + (row.end - row.start) / 2  # the drift is at least half way to its final factor
    for event in plant.log:
        if event.station_id != row.station_id:
            continue
        if isinstance(event.event, OperationStarted):
            started[event.aggregate_id] = event
        elif event.event_type in COMPLETING_EVENT_TYPES and event.aggregate_id in started:
            begin = started.pop(event.aggregate_id)
            minutes = (event.occurred_at - begin.occurred_at).total_seconds() / 60
            if minutes > 30:  # a changeover or a pause overnight, not the station's pace
                continue
            if event.occurred_at < row.start:
                before.append(minutes)
            elif begin.occurred_at >= second_half:
                late.append(minutes)
    assert len(before) > 20
    assert len(late) > 20
    assert statistics.median(late) > 1.2 * statistics.median(before)


def test_an_offline_scanners_scans_arrive_as_one_late_batch(plant: SimulatedPlant) -> None:
    for row in rows(plant, "offline_scanner"):
        assert row.end is not None
        buffered = [
            e
            for e in plant.log
            if e.station_id == row.station_id
            and row.start <= e.occurred_at < row.end
            and not (isinstance(e.event, SetPacked) and e.event.override_reason)  # a manager's tablet stays online
        ]
        assert buffered, row
        sequence = [e.sequence_num for e in buffered]
        assert sequence == list(range(sequence[0], sequence[0] + len(sequence)))
        recorded_just_before = plant.log[sequence[0] - 2]
        assert recorded_just_before.occurred_at > buffered[0].occurred_at + timedelta(minutes=30)


def test_a_lost_card_is_silent_until_found_and_one_never_found_is_voided_and_its_set_packed_short(
    plant: SimulatedPlant,
) -> None:
    history: dict[str, list[RecordedEvent]] = defaultdict(list)
    for event in plant.log:
        if event.card_unit_id:
            history[event.card_unit_id].append(event)
    packed = {e.event.assembly_id: e.event for e in plant.log if isinstance(e.event, SetPacked)}
    never_found = 0
    for row in rows(plant, "lost_card"):
        assert row.entity_id
        card = history[row.entity_id]
        if row.end is not None:
            assert not [e for e in card if row.start < e.occurred_at < row.end]
            continue
        never_found += 1
        assert not [e for e in card if e.occurred_at > row.start and not isinstance(e.event, CardUnitVoided)]
        lineage = parse_card_unit_id(row.entity_id)
        pack = packed.get(f"A-{lineage.sheet_id}")
        if pack is not None:
            assert lineage.position in pack.missing_positions
            assert pack.override_reason
    assert never_found > 0
