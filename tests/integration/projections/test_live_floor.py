"""The live floor (station queues and job progress kept up to date from the journal) reads exactly what the SQL
views read, after every batch of a day with late events, whether it folds the new events one by one or starts
over; it keeps only the families that are still open."""

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.envelope import RecordedEvent
from core.reference import Cut
from projections import Lake, materialize, open_lake
from projections.data_dir import DataDir
from projections.lake_api import LakeFloorSource
from projections.live_floor import MAX_CATCH_UP, LiveFloor
from projections.store import EventStore
from tests.integration.projections import expected
from tests.integration.projections.lakes import append_all
from tests.integration.projections.profile import LAKE_PROFILE
from tests.integration.projections.streams import SMALL_FACTORY_FILE, streams
from tests.integration.projections.test_materialize import a_day, batches

OPEN_SHEETS = """
    SELECT count(*) FROM (
        SELECT sheet_id FROM sheets WHERE status <> 'cut'
        UNION SELECT sheet_id FROM card_units WHERE status NOT IN ('voided', 'assembled', 'packed')
        UNION SELECT sheet_id FROM assemblies WHERE status = 'complete'
    )
"""


def data_dir(root: Path) -> DataDir:
    shutil.copy(SMALL_FACTORY_FILE, root / "factory.toml")
    return DataDir(root=root)


def assert_floor_equals_sql(live: LiveFloor, lake: Lake) -> None:
    queues = lake.sql("SELECT * FROM station_queue").to_dicts()
    assert queues
    assert live.station_queues() == queues
    for row in queues:
        assert live.station_queue(str(row["station_id"])) == row
    progress = lake.sql("SELECT * FROM job_progress ORDER BY job_id").to_dicts()
    for row in progress:
        assert live.job_progress(str(row["job_id"])) == row
    assert live.job_progress("J9999") is None


@pytest.mark.parametrize("max_catch_up", [MAX_CATCH_UP, 40], ids=["event-by-event", "starting-over"])
def test_the_live_floor_reads_what_the_sql_views_read_through_a_day(tmp_path: Path, max_catch_up: int) -> None:
    data = data_dir(tmp_path)
    with EventStore(data, start_sealer=False) as store, open_lake(data) as lake:
        live = LiveFloor(LakeFloorSource(lake), lake.factory, max_catch_up=max_catch_up)
        assert live.station_queues() == lake.sql("SELECT * FROM station_queue").to_dicts()  # an empty floor
        for number, batch in enumerate(batches(a_day(seed=0, moves=900), count=12)):
            append_all(store, batch)
            if number % 3 == 0:
                store.seal_now()  # the rest stays in the journal's tail
            if number % 4 == 1:
                materialize.refresh(data)
            assert_floor_equals_sql(live, lake)
            assert live.open_families == lake.sql(OPEN_SHEETS).item()  # closed families are let go


def test_the_lake_answers_the_floor_as_it_stands_live_and_a_cut_by_sql(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    day = batches(a_day(seed=8, moves=600), count=3)
    with EventStore(data, start_sealer=False) as store, open_lake(data) as lake:
        recorded = append_all(store, day[0])
        assert lake.keep_floor_live()
        recorded += append_all(store, [*day[1], *day[2]])  # acknowledged, unsealed: read-your-writes
        assert lake.station_queues().equals(lake.sql("SELECT * FROM station_queue"))  # the table, live
        for station in lake.factory.stations:
            row = lake.station_queue(station.station_id)
            assert row is not None
            assert row == lake.sql(f"SELECT * FROM station_queue WHERE station_id = '{station.station_id}'").row(
                0, named=True
            )
        middle = recorded[len(recorded) // 2].recorded_at
        for job, want in expected.progress(recorded, Cut()).items():
            got = lake.job_progress(job)
            assert got is not None
            assert {k: got[k] for k in want} == want
            past = lake.job_progress(job, known_at=middle)  # a cut: never the live floor
            past_want = expected.progress(recorded, Cut(known_at=middle)).get(job)
            assert (past is None) == (past_want is None)
            if past is not None and past_want is not None:
                assert {k: past[k] for k in past_want} == past_want


def test_a_lake_copied_without_its_journal_is_not_kept_live(tmp_path: Path) -> None:
    (tmp_path / "plant").mkdir()
    data = data_dir(tmp_path / "plant")
    with EventStore(data, start_sealer=False) as store:
        append_all(store, a_day(seed=3, moves=200))
        store.seal_now()
    (tmp_path / "copy").mkdir()
    alone = data_dir(tmp_path / "copy")
    shutil.copytree(data.root / "lake", alone.root / "lake")
    with open_lake(alone) as lake:
        assert not lake.keep_floor_live()
        queue = lake.station_queue("QA-BENCH-1")  # answered by SQL over the lake's files
        assert queue == lake.sql("SELECT * FROM station_queue WHERE station_id = 'QA-BENCH-1'").row(0, named=True)


@LAKE_PROFILE
@given(floor=streams, split=st.floats(0, 1))
def test_the_live_floor_equals_the_sql_views_for_any_lawful_stream(
    tmp_path_factory: pytest.TempPathFactory, floor: tuple[RecordedEvent, ...], split: float
) -> None:
    data = data_dir(tmp_path_factory.mktemp("live"))
    with EventStore(data, start_sealer=False) as store, open_lake(data) as lake:
        at = int(len(floor) * split)
        append_all(store, floor[:at])
        store.seal_now()
        live = LiveFloor(LakeFloorSource(lake), lake.factory)
        live.station_queues()  # starts here, from the read models
        append_all(store, floor[at:])  # and folds the rest event by event
        assert_floor_equals_sql(live, lake)
