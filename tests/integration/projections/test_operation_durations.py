"""Operation durations: every run from its start to its first completion, against a plain walk of the log."""

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.envelope import RecordedEvent
from core.events import COMPLETING_EVENT_TYPES, DomainEvent, OperationStarted, QAResultRecorded
from projections.engine import connect, define_views, views_for
from tests.integration.projections.profile import PROFILE
from tests.integration.projections.streams import SMALL_FACTORY, START, streams, to_arrow

Run = tuple[str, str, int]  # entity, operation, attempt
UNSEEN: dict[str, Any] = {
    "started_at": None,
    "completed_at": None,
    "station_id": None,
    "qa_result": None,
    "started_by": None,
    "completed_by": None,
    "completion_event_type": None,
}


def walked(events: tuple[RecordedEvent, ...]) -> dict[Run, dict[str, Any]]:
    """The runs, walking the log in order: a start opens the next run, the first completion closes it."""
    starts: dict[tuple[str, str], int] = {}
    runs: dict[Run, dict[str, Any]] = {}
    for event in sorted(events, key=lambda e: e.sequence_num):
        if event.aggregate_type not in ("sheet", "card_unit"):
            continue
        operation = getattr(event.event, "operation_id", None)
        if operation is None:
            continue
        key = (event.aggregate_id, operation)
        if isinstance(event.event, OperationStarted):
            starts[key] = starts.get(key, 0) + 1
            runs[(*key, starts[key])] = {
                **UNSEEN,
                "started_at": event.occurred_at,
                "station_id": event.event.station_id,
                "started_by": event.operator_id,
                "first_sequence_num": event.sequence_num,
            }
        elif event.event_type in COMPLETING_EVENT_TYPES:
            run = runs.setdefault((*key, starts.get(key, 0)), {**UNSEEN, "first_sequence_num": event.sequence_num})
            if run["completed_at"] is None:
                run["completed_at"] = event.occurred_at
                run["completed_by"] = event.operator_id
                run["completion_event_type"] = event.event_type
                run["station_id"] = getattr(event.event, "station_id", run["station_id"])
                if isinstance(event.event, QAResultRecorded):
                    run["qa_result"] = event.event.result
    return runs


def _minutes(started: datetime | None, completed: datetime | None) -> float | None:
    return None if started is None or completed is None else (completed - started).total_seconds() / 60


def _runs_and_rows(events: tuple[RecordedEvent, ...]) -> tuple[dict[Run, dict[str, Any]], list[dict[str, Any]]]:
    query = "SELECT * FROM operation_durations"
    with tempfile.TemporaryDirectory() as directory, connect() as connection:
        path = Path(directory) / "events.parquet"
        pq.write_table(to_arrow(events), path)
        define_views(connection, f"read_parquet('{path}')", SMALL_FACTORY, only=views_for(query))
        relation = connection.sql(query)
        rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    runs = {
        (row["entity_id"], row["operation_id"], row["attempt"]): {
            name: row[name] for name in (*UNSEEN, "first_sequence_num")
        }
        for row in rows
    }
    return runs, rows


@PROFILE
@given(events=streams)
def test_each_run_of_an_operation_lasts_from_its_start_to_its_first_completion(
    events: tuple[RecordedEvent, ...],
) -> None:
    runs, rows = _runs_and_rows(events)
    assert runs == walked(events)
    for row in rows:
        assert row["actual_minutes"] == pytest.approx(_minutes(row["started_at"], row["completed_at"]))
        if row["product_id"] is not None:
            standard = SMALL_FACTORY.product(row["product_id"]).operation(row["operation_id"]).standard_minutes
            assert row["standard_minutes"] == standard


def _is_run_event(event: RecordedEvent) -> bool:
    return isinstance(event.event, OperationStarted) or event.event_type in COMPLETING_EVENT_TYPES


@PROFILE
@given(events=streams, data=st.data())
def test_runs_pair_up_when_a_cut_hides_some_starts_and_completions(
    events: tuple[RecordedEvent, ...], data: st.DataObject
) -> None:
    """A completion with no start before it, a start followed by another start, two completions in a row:
    what a log read with holes (a cut, a late upload) holds, and a floor's own log rarely does."""
    holed = tuple(e for e in events if not (_is_run_event(e) and data.draw(st.booleans(), label=str(e.sequence_num))))
    runs, _ = _runs_and_rows(holed)
    assert runs == walked(holed)


def test_a_start_hidden_or_restarted_before_its_completion_makes_runs_without_a_start_or_a_completion() -> None:
    card = "J1044-S003-07"
    moments = [START + timedelta(minutes=minutes) for minutes in range(6)]

    def recorded(sequence: int, event: DomainEvent, operator: str) -> RecordedEvent:
        return RecordedEvent(
            sequence_num=sequence,
            aggregate_type="card_unit",
            aggregate_id=card,
            aggregate_version=sequence,
            event=event,
            occurred_at=moments[sequence - 1],
            recorded_at=moments[sequence - 1],
            job_id="J1044",
            sheet_id="J1044-S003",
            card_unit_id=card,
            station_id="QA-BENCH-1",
            operator_id=operator,
        )

    def result(outcome: str, attempt: int) -> QAResultRecorded:
        return QAResultRecorded(operation_id="qa", station_id="QA-BENCH-1", result=outcome, attempt=attempt)

    started = OperationStarted(operation_id="qa", station_id="QA-BENCH-1")
    holed = (
        recorded(1, result("FAIL", 1), "OP-1"),  # its start hidden: a run without a start
        recorded(2, result("FAIL", 1), "OP-2"),  # a second completion of the same run: not the run's
        recorded(3, started, "OP-3"),  # restarted before any completion: a run without a completion
        recorded(4, started, "OP-4"),
        recorded(5, result("PASS", 2), "OP-5"),
    )
    runs, _ = _runs_and_rows(holed)
    assert runs == walked(holed)
    assert {run: (r["started_by"], r["completed_by"], r["qa_result"]) for run, r in runs.items()} == {
        (card, "qa", 0): (None, "OP-1", "FAIL"),
        (card, "qa", 1): ("OP-3", None, None),
        (card, "qa", 2): ("OP-4", "OP-5", "PASS"),
    }
