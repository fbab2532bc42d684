"""Operation durations: every run from its start to its first completion, against a plain walk of the log."""

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import given

from core.envelope import RecordedEvent
from core.events import COMPLETING_EVENT_TYPES, OperationStarted, QAResultRecorded
from projections.engine import connect, define_views, views_for
from tests.integration.projections.profile import PROFILE
from tests.integration.projections.streams import SMALL_FACTORY, streams, to_arrow

Run = tuple[str, str, int]  # entity, operation, attempt


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
                "started_at": event.occurred_at,
                "completed_at": None,
                "station_id": event.event.station_id,
                "qa_result": None,
            }
        elif event.event_type in COMPLETING_EVENT_TYPES:
            run = runs.setdefault(
                (*key, starts.get(key, 0)),
                {"started_at": None, "completed_at": None, "station_id": None, "qa_result": None},
            )
            if run["completed_at"] is None:
                run["completed_at"] = event.occurred_at
                run["station_id"] = getattr(event.event, "station_id", run["station_id"])
                if isinstance(event.event, QAResultRecorded):
                    run["qa_result"] = event.event.result
    return runs


def _minutes(started: datetime | None, completed: datetime | None) -> float | None:
    return None if started is None or completed is None else (completed - started).total_seconds() / 60


@PROFILE
@given(events=streams)
def test_each_run_of_an_operation_lasts_from_its_start_to_its_first_completion(
    events: tuple[RecordedEvent, ...],
) -> None:
    query = "SELECT * FROM operation_durations"
    with tempfile.TemporaryDirectory() as directory, connect() as connection:
        path = Path(directory) / "events.parquet"
        pq.write_table(to_arrow(events), path)
        define_views(connection, f"read_parquet('{path}')", SMALL_FACTORY, only=views_for(query))
        relation = connection.sql(query)
        rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    got = {
        (row["entity_id"], row["operation_id"], row["attempt"]): {
            "started_at": row["started_at"],
            "completed_at": row["completed_at"],
            "station_id": row["station_id"],
            "qa_result": row["qa_result"],
        }
        for row in rows
    }
    assert got == walked(events)
    for row in rows:
        assert row["actual_minutes"] == pytest.approx(_minutes(row["started_at"], row["completed_at"]))
        if row["product_id"] is not None:
            standard = SMALL_FACTORY.product(row["product_id"]).operation(row["operation_id"]).standard_minutes
            assert row["standard_minutes"] == standard
