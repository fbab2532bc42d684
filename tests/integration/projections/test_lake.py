"""The analyst API on real data directories: events written through the event store, some sealed, some not."""

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.envelope import RecordedEvent
from core.events import SetPacked
from core.reference import Cut
from projections import Lake, open_lake
from projections.data_dir import DataDir
from projections.store import EventStore
from projections.views.genealogy import lineage_sql
from tests.integration.projections import expected
from tests.integration.projections.lakes import append_all
from tests.integration.projections.profile import LAKE_PROFILE
from tests.integration.projections.streams import SMALL_FACTORY, SMALL_FACTORY_FILE, Move, play, streams


def data_dir(root: Path) -> DataDir:
    shutil.copy(SMALL_FACTORY_FILE, root / "factory.toml")
    return DataDir(root=root)


def day_of_moves(seed: int, count: int) -> list[Move]:
    import random

    rng = random.Random(seed)
    return [
        Move(
            kind=rng.randrange(100),
            pick=rng.randrange(10_000),
            variant=rng.randrange(10_000),
            step_minutes=rng.randrange(20),
            skew_minutes=rng.choice([0, 0, 0, -300, 2]),
        )
        for _ in range(count)
    ]


@pytest.fixture
def plant_data(tmp_path: Path) -> Iterator[tuple[DataDir, EventStore]]:
    data = data_dir(tmp_path)
    store = EventStore(data, start_sealer=False)
    try:
        yield data, store
    finally:
        store.close()


def card_rows(frame: pl.DataFrame, like: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    columns = next(iter(like.values())).keys() if like else ()
    return expected.keyed(frame.to_dicts(), "card_unit_id", columns)


def test_an_empty_data_directory_reads_as_empty_read_models(tmp_path: Path) -> None:
    with open_lake(data_dir(tmp_path)) as lake:
        assert lake.last_sequence() == 0
        assert lake.card_units().height == 0
        assert lake.assemblies().height == 0
        assert lake.jobs().height == 0
        assert lake.events().height == 0
        assert lake.operation_durations().height == 0
        assert lake.card_unit("J1001-S001-01") is None
        assert lake.assembly("A-J1001-S001") is None
        assert lake.job_progress("J1001") is None
        queues = lake.station_queues()
        assert queues["station_id"].to_list() == [s.station_id for s in SMALL_FACTORY.stations]
        assert queues["waiting_units"].sum() == 0


def test_an_acknowledged_event_is_visible_before_it_is_sealed(plant_data: tuple[DataDir, EventStore]) -> None:
    data, store = plant_data
    floor = play(day_of_moves(seed=7, count=260))
    half = len(floor) // 2
    with open_lake(data) as lake:
        recorded = append_all(store, floor[:half])  # acknowledged, not sealed
        assert lake.last_sequence() == store.last_sequence() == len(recorded)
        want = expected.card_units(recorded, Cut())
        assert card_rows(lake.card_units(), want) == want

        store.seal_now()
        assert card_rows(lake.card_units(), want) == want  # the same once sealed

        recorded += append_all(store, floor[half:])  # more, unsealed, over a sealed lake
        want = expected.card_units(recorded, Cut())
        assert card_rows(lake.card_units(), want) == want
        newest = recorded[-1]
        assert lake.events(after=newest.sequence_num - 1)["sequence_num"].to_list() == [newest.sequence_num]
        if newest.card_unit_id is not None:
            history = lake.card_unit_history(newest.card_unit_id)
            assert newest.sequence_num in history["sequence_num"].to_list()


def test_the_events_feed_pages_through_the_log_in_sequence_order(plant_data: tuple[DataDir, EventStore]) -> None:
    data, store = plant_data
    recorded = append_all(store, play(day_of_moves(seed=3, count=120)))
    store.seal_now()
    with open_lake(data) as lake:
        seen: list[int] = []
        after = 0
        while page := lake.events(after=after, limit=25)["sequence_num"].to_list():
            seen.extend(page)
            after = page[-1]
        assert seen == [e.sequence_num for e in recorded]


def test_a_card_history_is_its_own_events_oldest_first_and_the_packing_of_its_set(
    plant_data: tuple[DataDir, EventStore],
) -> None:
    data, store = plant_data
    recorded = append_all(store, play(day_of_moves(seed=11, count=400)))
    with open_lake(data) as lake:
        packed = lake.sql("SELECT card_unit_id, pack_id FROM card_units WHERE status = 'packed' LIMIT 1")
        assert packed.height == 1, "the day should pack at least one set"
        card, pack = packed.row(0)
        history = lake.card_unit_history(card)
        as_events = lake.card_unit_events(card)
    own = [e.sequence_num for e in recorded if e.card_unit_id == card]
    packing = [e.sequence_num for e in recorded if isinstance(e.event, SetPacked) and e.event.pack_id == pack]
    assert history["sequence_num"].to_list() == sorted(own + packing)
    assert history["event_type"][0] == "CardUnitCreated"
    assert as_events == [e for e in recorded if e.sequence_num in set(own + packing)]


def test_a_lineage_as_it_stands_reads_the_same_from_the_journal_as_from_the_lake_files(
    plant_data: tuple[DataDir, EventStore], tmp_path: Path
) -> None:
    data, store = plant_data
    recorded = append_all(store, play(day_of_moves(seed=11, count=400)))
    store.seal_now()
    cards = sorted({e.card_unit_id for e in recorded if e.card_unit_id is not None})
    sheets = sorted({e.sheet_id for e in recorded if e.sheet_id is not None})
    with open_lake(data) as lake:  # the current state of one lineage: the journal's index
        from_journal = [(lake.card_unit(card), lake.card_unit_history(card)) for card in cards]
        events_from_journal = [lake.card_unit_events(card) for card in cards]
        genealogy_from_journal = [lake.genealogy(card) for card in cards]
        sheets_from_journal = [lake.sheet(sheet) for sheet in sheets]
    (tmp_path / "lake-alone").mkdir()
    alone = data_dir(tmp_path / "lake-alone")  # the lake copied without its journal: read from its files
    shutil.copytree(data.root / "lake", alone.root / "lake")
    with open_lake(alone) as lake:
        assert not alone.journal_path.exists()
        from_files = [(lake.card_unit(card), lake.card_unit_history(card)) for card in cards]
        assert [lake.card_unit_events(card) for card in cards] == events_from_journal
        # a card's family is read from the files its own read already fetched (one read of the sheet's rows)
        for card, genealogy in zip(cards, genealogy_from_journal, strict=True):
            assert lake.genealogy(card).equals(genealogy)
        assert [lake.sheet(sheet) for sheet in sheets] == sheets_from_journal
    assert len(cards) > 20
    for (state, history), (file_state, file_history) in zip(from_journal, from_files, strict=True):
        assert state == file_state
        assert history.equals(file_history)


@st.composite
def lake_cuts(draw: st.DrawFn, events: list[RecordedEvent]) -> Cut:
    if not events or draw(st.booleans()):
        return Cut()
    occurred = sorted({e.occurred_at for e in events})
    recorded = sorted({e.recorded_at for e in events})
    return Cut(
        as_of=draw(st.none() | st.sampled_from(occurred)),
        known_at=draw(st.none() | st.sampled_from(recorded).map(lambda t: t - timedelta(microseconds=1))),
    )


@LAKE_PROFILE
@given(floor=streams, sealed=st.floats(0, 1), data=st.data())
def test_one_entity_reads_equal_the_fleet_views_and_the_reference_at_any_cut(
    tmp_path_factory: pytest.TempPathFactory, floor: tuple[RecordedEvent, ...], sealed: float, data: st.DataObject
) -> None:
    root = data_dir(tmp_path_factory.mktemp("lake"))
    with EventStore(root, start_sealer=False) as store, open_lake(root) as lake:
        cut_at = int(len(floor) * sealed)
        recorded = append_all(store, floor[:cut_at])
        store.seal_now()
        recorded += append_all(store, floor[cut_at:])
        cut = data.draw(lake_cuts(recorded))
        _check_single_reads(lake, recorded, cut)


def _check_single_reads(lake: Lake, recorded: list[RecordedEvent], cut: Cut) -> None:
    as_of, known_at = cut.as_of, cut.known_at
    cards = expected.card_units(recorded, cut)
    for card, row in cards.items():
        state = lake.card_unit(card, as_of, known_at)
        assert state is not None
        assert {k: state[k] for k in row} == row
    sheets = expected.sheets(recorded, cut)
    for sheet, row in sheets.items():
        state = lake.sheet(sheet, as_of, known_at)
        assert state is not None
        assert {k: state[k] for k in row} == row
    fleet_sets = {row["assembly_id"]: row for row in lake.assemblies(as_of, known_at).to_dicts()}
    for assembly_id, row in fleet_sets.items():
        single = lake.assembly(assembly_id, as_of, known_at)
        assert single is not None
        assert {k: single[k] for k in single} == {k: row[k] for k in single}
    for job, progress in expected.progress(recorded, cut).items():
        single = lake.job_progress(job, as_of, known_at)
        assert single is not None
        assert {k: single[k] for k in progress} == progress
    roots = sorted({*cards, *sheets, *fleet_sets, *(r["pack_id"] for r in fleet_sets.values() if r["pack_id"])})
    for root in roots[:12] + [e.job_id for e in recorded[:1] if e.job_id]:
        walked = lake.genealogy(root, as_of, known_at)
        in_sql = lake.sql(lineage_sql(root), as_of, known_at)
        assert walked.to_dicts() == in_sql.to_dicts(), root
