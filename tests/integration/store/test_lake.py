"""The lake contract: what any engine reads from the Delta table equals the journal, column for column."""

import time
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from core.envelope import EventContext, PendingEvent
from core.events import AssemblyOpened, CardUnitCreated
from projections.data_dir import DataDir
from projections.lake.schema import LAKE_SCHEMA
from projections.lake.table import LakeTable, compact_lake
from projections.store import Append, EventStore, LakeCorrupted, sealer
from tests.integration.store.conftest import START, job_created, press_scan, sheet_completed


def _fill(store: EventStore, sheets: int = 40) -> None:
    store.append(Append(events=(job_created("J1044", sheets),), expected_versions={"J1044": 0}))
    for number in range(1, sheets + 1):
        sheet = f"J1044-S{number:03d}"
        store.append(press_scan(sheet, f"press-{number}"))
        store.append(Append(events=(sheet_completed(sheet),), expected_versions={sheet: 1}))
    card = PendingEvent(
        aggregate_type="card_unit",
        aggregate_id="J1044-S001-07",
        event=CardUnitCreated(
            card_unit_id="J1044-S001-07",
            sheet_id="J1044-S001",
            job_id="J1044",
            position=7,
            product_id="base-18up",
            embellishments=("foil-gold-wave",),
            serial_run_size=0,
        ),
        # Text the fast Arrow path must carry exactly: an empty scan_id, quotes, commas and non-ASCII.
        context=EventContext(occurred_at=START, station_id='CUT-1 "north", bay 2', operator_id="OP-Ø", scan_id=""),
        job_id="J1044",
        sheet_id="J1044-S001",
        card_unit_id="J1044-S001-07",
    )
    store.append(Append(events=(card,), expected_versions={"J1044-S001-07": 0}))


def test_after_sealing_every_engine_reads_the_journal_column_for_column(data_dir: DataDir, store: EventStore) -> None:
    _fill(store)
    assert store.seal_now() == store.last_sequence()
    journal = store.read_arrow(0)
    assert journal.schema == LAKE_SCHEMA
    assert journal.num_rows == 82

    plain = DeltaTable(data_dir.lake_uri).to_pyarrow_table().sort_by("sequence_num")
    assert plain.equals(journal)

    via_polars = pl.read_delta(data_dir.lake_uri).sort("sequence_num")
    assert via_polars.equals(pl.from_arrow(journal))  # type: ignore[arg-type]
    assert pl.scan_delta(data_dir.lake_uri).select(pl.len()).collect().item() == 82

    engine = duckdb.connect()
    engine.register("lake", DeltaTable(data_dir.lake_uri).to_pyarrow_dataset())
    via_duckdb = engine.sql("SELECT * FROM lake ORDER BY sequence_num").fetch_arrow_table()
    assert via_duckdb.cast(LAKE_SCHEMA).equals(journal)
    card = via_duckdb.filter(pc.equal(via_duckdb.column("aggregate_id"), "J1044-S001-07")).to_pylist()[0]
    assert (card["scan_id"], card["station_id"], card["operator_id"]) == ("", 'CUT-1 "north", bay 2', "OP-Ø")


def test_the_table_is_append_only_and_partitioned_by_the_utc_recorded_date(
    data_dir: DataDir, store: EventStore
) -> None:
    _fill(store, sheets=3)
    store.seal_now()
    table = DeltaTable(data_dir.lake_uri)
    assert table.metadata().configuration["delta.appendOnly"] == "true"
    assert table.metadata().partition_columns == ["event_date"]
    lake = table.to_pyarrow_table()
    recorded_dates = pc.cast(lake.column("recorded_at"), pa.date32())
    assert pc.all(pc.equal(recorded_dates, lake.column("event_date"))).as_py()
    assert all(Path(uri).parent.name.startswith("event_date=") for uri in table.file_uris())


def test_the_sealer_puts_events_in_the_lake_within_two_seconds(data_dir: DataDir) -> None:
    with EventStore(data_dir, seal_interval_s=0.2) as store:
        store.append(press_scan("J1044-S001", "scan-1"))
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and store.health()["sealed_sequence"] != 1:
            time.sleep(0.05)
        health = store.health()
    assert health["sealed_sequence"] == 1
    assert health["seal_lag_events"] == 0
    assert DeltaTable(data_dir.lake_uri).to_pyarrow_table().num_rows == 1


def test_the_high_water_mark_comes_from_the_lake_so_a_lost_journal_mark_seals_nothing_twice(
    data_dir: DataDir,
) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        _fill(store, sheets=5)
        store.seal_now()
        sealed = store.last_sequence()
    # As if the process died between the Delta commit and the journal's update of its cached mark.
    with EventStore(data_dir, start_sealer=False) as store:
        assert store._writer is not None
        store._writer.execute("DELETE FROM seal")
    with EventStore(data_dir, start_sealer=False) as store:
        assert store.health()["sealed_sequence"] == sealed
        store.append(press_scan("J1044-S099", "scan-late"))
        assert store.seal_now() == sealed + 1
    sequence = DeltaTable(data_dir.lake_uri).to_pyarrow_table().column("sequence_num").to_pylist()
    assert sorted(sequence) == list(range(1, sealed + 2))


def test_a_backlog_is_sealed_in_batches_each_one_commit(data_dir: DataDir) -> None:
    with EventStore(data_dir, start_sealer=False, seal_batch=10) as store:
        _fill(store, sheets=20)
        assert store.seal_now() == 42
    table = DeltaTable(data_dir.lake_uri)
    assert table.version() == 5  # the table's creation, then 42 events in commits of at most 10
    assert table.to_pyarrow_table().num_rows == 42


def test_compaction_leaves_the_same_events_in_fewer_files_and_a_checkpoint(data_dir: DataDir) -> None:
    with EventStore(data_dir, start_sealer=False, seal_batch=7) as store:
        _fill(store, sheets=10)
        store.seal_now()
        before = DeltaTable(data_dir.lake_uri).to_pyarrow_table().sort_by("sequence_num")

        done = compact_lake(data_dir)

        assert done["compacted"]
        assert done["files_before"] > done["files_after"] == 1
        after = DeltaTable(data_dir.lake_uri).to_pyarrow_table()
        assert after.sort_by("sequence_num").equals(before)
        assert list(Path(data_dir.lake_uri, "_delta_log").glob("*.checkpoint.parquet"))
        # Sealing goes on after a compaction: the high-water mark survives it.
        store.append(press_scan("J1044-S099", "scan-late"))
        assert store.seal_now() == before.num_rows + 1
    assert LakeTable.for_data_dir(data_dir).verify().rows == before.num_rows + 1


def test_compaction_lays_each_sheet_family_together_in_small_row_groups(data_dir: DataDir) -> None:
    """A lookup by sheet reads the row groups whose statistics admit the sheet: after compaction a family's rows
    (the sheet's and its set's, whose id `A-...` sorts far from the sheet's) lie in one or two of them."""
    sheets = [f"J1044-S{number:03d}" for number in range(1, 31)]
    with EventStore(data_dir, start_sealer=False, seal_batch=9) as store:
        store.append(Append(events=(job_created("J1044", len(sheets)),), expected_versions={"J1044": 0}))
        for sheet in sheets:
            store.append(press_scan(sheet, f"press-{sheet}"))
        for sheet in reversed(sheets):  # the floor's order interleaves families
            opened = PendingEvent(
                aggregate_type="assembly",
                aggregate_id=f"A-{sheet}",
                event=AssemblyOpened(
                    assembly_id=f"A-{sheet}", sheet_id=sheet, job_id="J1044", expected_count=18, station_id="ASM-1"
                ),
                context=EventContext(occurred_at=START, station_id="ASM-1"),
                job_id="J1044",
                sheet_id=sheet,
            )
            store.append(Append(events=(opened, sheet_completed(sheet)), expected_versions={f"A-{sheet}": 0, sheet: 1}))
        store.seal_now()
        before = DeltaTable(data_dir.lake_uri).to_pyarrow_table().sort_by("sequence_num")

    LakeTable.for_data_dir(data_dir).compact(row_group_rows=8)

    table = DeltaTable(data_dir.lake_uri)
    assert table.to_pyarrow_table().sort_by("sequence_num").equals(before)
    (uri,) = table.file_uris()
    metadata = pq.ParquetFile(uri).metadata
    column = metadata.schema.names.index("sheet_id")
    groups = [metadata.row_group(index) for index in range(metadata.num_row_groups)]
    assert len(groups) > 10
    assert all(group.num_rows <= 8 for group in groups)
    for sheet in sheets:
        admitting = [
            group
            for group in groups
            if group.column(column).statistics.has_min_max
            and group.column(column).statistics.min <= sheet <= group.column(column).statistics.max
        ]
        assert 1 <= len(admitting) <= 2, (sheet, len(admitting))


def test_a_foreign_file_in_the_lake_is_reported_with_its_path_and_sealing_stops(data_dir: DataDir) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        _fill(store, sheets=2)
        store.seal_now()
    intruder = Path(data_dir.lake_uri) / "notes.txt"
    intruder.write_text("who put this here")

    with EventStore(data_dir, start_sealer=False) as store:
        problem = store.lake_problem
        assert problem is not None
        assert problem.path == str(intruder)
        assert "foreign" in str(problem)
        assert str(intruder) in str(store.health()["lake_problem"])
        store.append(press_scan("J1044-S050", "scan-after"))  # the journal still acknowledges
        with pytest.raises(LakeCorrupted, match=r"notes\.txt"):
            store.seal_now()


def test_a_truncated_data_file_is_reported_as_damaged(data_dir: DataDir) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        _fill(store, sheets=2)
        store.seal_now()
    victim = next(Path(data_dir.lake_uri).glob("event_date=*/*.parquet"))
    victim.write_bytes(victim.read_bytes()[:100])

    with pytest.raises(LakeCorrupted, match="damaged") as found:
        LakeTable.for_data_dir(data_dir).verify()
    assert found.value.path.endswith(victim.name)


def test_an_interrupted_write_leaves_a_file_that_is_named_but_harmless(data_dir: DataDir) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        _fill(store, sheets=2)
        store.seal_now()
    partition = next(Path(data_dir.lake_uri).glob("event_date=*"))
    leftover = partition / "part-00000-0e5f7a0c-2b1d-4c3e-9f8a-123456789abc-c000.zstd.parquet#1"
    leftover.write_bytes(b"PAR1 half a file")

    report = LakeTable.for_data_dir(data_dir).verify()
    assert report.unreferenced == (f"{partition.name}/{leftover.name}",)
    with EventStore(data_dir, start_sealer=False) as store:
        assert store.lake_problem is None


def test_ids_holding_the_fast_paths_separators_still_reach_the_lake_exactly(
    data_dir: DataDir, store: EventStore
) -> None:
    awkward = ["line\nbreak", "unit\x1fseparator", "\x15", "carriage\rreturn", "tab\tand ünïcode"]
    for number, scan in enumerate(awkward, start=1):
        store.append(press_scan(f"J1044-S{number:03d}", scan))
    store.append(press_scan("J1044-S099", "plain"))

    journal = store.read_arrow(0)
    assert journal.column("scan_id").to_pylist() == [*awkward, "plain"]
    assert store.read_arrow(5).column("scan_id").to_pylist() == ["plain"]
    store.seal_now()
    lake = DeltaTable(data_dir.lake_uri).to_pyarrow_table().sort_by("sequence_num")
    assert lake.equals(journal)


def test_a_backlog_sealed_through_the_render_and_parse_pipeline_equals_the_journal(
    data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of several rendered pieces, one piece that the fast path can't trust (read exactly instead),
    all in sequence order and one commit per chunk."""
    monkeypatch.setattr(sealer, "RENDER_PIECE", 4)
    with EventStore(data_dir, start_sealer=False, seal_batch=10) as store:
        _fill(store, sheets=10)
        store.append(press_scan("J1044-S098", "line\nbreak\x1fand\x15marks"))
        store.append(press_scan("J1044-S099", "plain"))
        journal = store.read_arrow(0)
        assert store.seal_now() == journal.num_rows == 24
    table = DeltaTable(data_dir.lake_uri)
    assert table.version() == 3  # the table's creation, then 24 events in commits of at most 10
    assert table.to_pyarrow_table().sort_by("sequence_num").equals(journal)
