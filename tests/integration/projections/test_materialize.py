"""Materialized read models: refreshed command batch by command batch they equal a rebuild, table for table."""

import shutil
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from core.envelope import RecordedEvent
from core.reference import Cut
from projections import materialize, open_lake
from projections.data_dir import DataDir
from projections.keeper import ReadModelKeeper
from projections.store import EventStore
from tests.integration.projections import expected
from tests.integration.projections.lakes import append_all
from tests.integration.projections.streams import SMALL_FACTORY_FILE, Move, play


def a_day(seed: int, moves: int) -> tuple[RecordedEvent, ...]:
    """A day on the floor: scans every few minutes, some buffered offline and recorded up to ten hours late."""
    import random

    rng = random.Random(seed)
    return play(
        [
            Move(
                kind=rng.randrange(100),
                pick=rng.randrange(10_000),
                variant=rng.randrange(10_000),
                step_minutes=rng.randrange(6),
                skew_minutes=rng.choice([0, 0, 0, 0, 1, -45, -600]),
            )
            for _ in range(moves)
        ]
    )


def batches(events: tuple[RecordedEvent, ...], count: int) -> list[list[RecordedEvent]]:
    """About `count` batches, never splitting the events of one command (they share their recorded time)."""
    size = max(1, len(events) // count)
    out: list[list[RecordedEvent]] = [[]]
    for index, event in enumerate(events):
        if len(out[-1]) >= size and event.recorded_at != events[index - 1].recorded_at:
            out.append([])
        out[-1].append(event)
    return out


def stored_tables(data: DataDir) -> dict[str, pl.DataFrame]:
    stored = materialize.load(data)
    assert stored is not None
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        return {
            name: connection.sql(f"SELECT * FROM {stored.relation_sql(name)} ORDER BY {key}").pl()
            for name, (key, _) in materialize.TABLES.items()
        }


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    shutil.copy(SMALL_FACTORY_FILE, tmp_path / "factory.toml")
    return DataDir(root=tmp_path)


def test_refreshes_through_a_day_with_late_events_equal_a_rebuild_table_for_table(data: DataDir) -> None:
    recorded: list[RecordedEvent] = []
    with EventStore(data, start_sealer=False) as store:
        for number, batch in enumerate(batches(a_day(seed=21, moves=900), count=14)):
            recorded += append_all(store, batch)
            if number % 3 == 0:
                store.seal_now()  # the rest stays in the journal's tail, which a refresh folds too
            refreshed = materialize.refresh(data)
            assert refreshed.last_sequence == store.last_sequence()
        stored = materialize.load(data)
        assert stored is not None
        assert any(table.deltas for table in stored.tables.values())
        incremental = stored_tables(data)
        materialize.rebuild(data)
        rebuilt = stored_tables(data)
    for name in materialize.TABLES:
        assert incremental[name].equals(rebuilt[name]), name
    want = expected.card_units(recorded, Cut())
    assert expected.keyed(rebuilt["card_units"].to_dicts(), "card_unit_id", next(iter(want.values()))) == want


def test_the_lake_reads_the_same_with_and_without_materialized_read_models(data: DataDir) -> None:
    day = batches(a_day(seed=5, moves=500), count=4)
    with EventStore(data, start_sealer=False) as store:
        for batch in day[:3]:
            append_all(store, batch)
            store.seal_now()
            materialize.refresh(data)
        append_all(store, day[3])  # newer than the read models, not even sealed
        with open_lake(data) as layered, open_lake(data, use_materialized=False) as scratch:
            for query in (
                "SELECT * FROM card_units ORDER BY card_unit_id",
                "SELECT * FROM sheets ORDER BY sheet_id",
                "SELECT * FROM assemblies ORDER BY assembly_id",
                "SELECT * FROM jobs ORDER BY job_id",
                "SELECT * FROM job_progress ORDER BY job_id",
                "SELECT * FROM station_queue",
                "SELECT * FROM genealogy ORDER BY ALL",
            ):
                assert layered.sql(query).equals(scratch.sql(query)), query


def test_a_rebuild_of_an_empty_data_directory_stores_empty_tables(data: DataDir) -> None:
    stored = materialize.rebuild(data)
    assert stored.last_sequence == 0
    assert all(frame.height == 0 for frame in stored_tables(data).values())
    assert materialize.refresh(data).last_sequence == 0


def test_the_keeper_brings_the_read_models_up_to_every_acknowledged_event_on_its_own(data: DataDir) -> None:
    day = batches(a_day(seed=8, moves=300), count=3)
    with EventStore(data, start_sealer=False) as store:
        append_all(store, day[0])
        keeper = ReadModelKeeper(data, period_s=0.05).start()
        try:
            append_all(store, day[1] + day[2])
            deadline = time.monotonic() + 60
            while keeper.refreshed_through < store.last_sequence() and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            keeper.stop()
        stored = materialize.load(data)
        assert stored is not None
        assert stored.last_sequence == store.last_sequence()


def test_a_keeper_needs_a_positive_period(data: DataDir) -> None:
    with pytest.raises(ValueError, match="period"):
        ReadModelKeeper(data, period_s=0)
