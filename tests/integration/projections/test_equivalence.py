"""Every vectorized read model equals core's reference fold, for random lawful streams and random cut points.

One suite, every implementation: each test is parametrized over the engines that implement its read model.
A cut bounds the occurred time (`as_of`), the recorded time (`known_at`) and the sequence, alone or together;
late events (occurred long before they were recorded) land on both axes like the reference says.
"""

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.envelope import RecordedEvent
from core.reference import Cut
from projections.engine import reference_time
from tests.integration.projections import expected
from tests.integration.projections.engines import DuckDBEngine, ReadModelEngine, engines_for
from tests.integration.projections.profile import PROFILE
from tests.integration.projections.streams import SMALL_FACTORY, START, streams, to_arrow

NOW = START + timedelta(days=3)


@st.composite
def cuts(draw: st.DrawFn, events: tuple[RecordedEvent, ...]) -> Cut:
    if not events or draw(st.integers(0, 5)) == 0:
        return Cut()
    occurred = sorted({e.occurred_at for e in events})
    recorded = sorted({e.recorded_at for e in events})
    nudge = st.sampled_from([timedelta(0), timedelta(seconds=-1), timedelta(seconds=1)])

    def moment(times: list[datetime]) -> st.SearchStrategy[datetime | None]:
        return st.none() | st.builds(lambda t, d: t + d, st.sampled_from(times), nudge)

    return Cut(
        as_of=draw(moment(occurred)),
        known_at=draw(moment(recorded)),
        up_to_sequence=draw(st.none() | st.integers(0, len(events) + 1)),
    )


def _lake_file(events: tuple[RecordedEvent, ...], directory: str) -> Path:
    path = Path(directory) / "events.parquet"
    pq.write_table(to_arrow(events), path)
    return path


def _check(engine: ReadModelEngine, model: str, data: st.DataObject, events: tuple[RecordedEvent, ...]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        lake_file = _lake_file(events, directory)
        for _ in range(3):  # several cuts of the same stream: cheap, and they must all agree
            cut = data.draw(cuts(events))
            want = _expected(model, events, cut)
            got = engine.read(lake_file, model, cut, SMALL_FACTORY, NOW)
            columns = next(iter(want.values())).keys() if want else ()
            assert expected.keyed(got, _key(model), columns) == want, f"{engine.name} {model} at {cut}"


def _key(model: str) -> str:
    return {
        "card_units": "card_unit_id",
        "sheets": "sheet_id",
        "assemblies": "assembly_id",
        "jobs": "job_id",
        "job_progress": "job_id",
        "station_queue": "station_id",
    }[model]


def _expected(model: str, events: tuple[RecordedEvent, ...], cut: Cut) -> expected.Rows:
    match model:
        case "card_units":
            return expected.card_units(events, cut)
        case "sheets":
            return expected.sheets(events, cut)
        case "assemblies":
            at = reference_time(cut, NOW)
            return expected.assemblies(events, cut, SMALL_FACTORY.assembly_timeout_minutes, at)
        case "jobs":
            return expected.jobs(events, cut)
        case "job_progress":
            return expected.progress(events, cut)
        case "station_queue":
            return expected.queues(events, cut, SMALL_FACTORY)
    raise AssertionError(model)


def _ids(engine: ReadModelEngine) -> str:
    return engine.name


@pytest.mark.parametrize("engine", engines_for("card_units"), ids=_ids)
@PROFILE
@given(events=streams, data=st.data())
def test_card_units_equal_the_reference_fold_at_any_cut(
    engine: ReadModelEngine, events: tuple[RecordedEvent, ...], data: st.DataObject
) -> None:
    _check(engine, "card_units", data, events)


@pytest.mark.parametrize("engine", engines_for("sheets"), ids=_ids)
@PROFILE
@given(events=streams, data=st.data())
def test_sheets_equal_the_reference_fold_at_any_cut(
    engine: ReadModelEngine, events: tuple[RecordedEvent, ...], data: st.DataObject
) -> None:
    _check(engine, "sheets", data, events)


@pytest.mark.parametrize("engine", engines_for("assemblies"), ids=_ids)
@PROFILE
@given(events=streams, data=st.data())
def test_assemblies_and_their_absence_alerts_equal_the_reference_fold_at_any_cut(
    engine: ReadModelEngine, events: tuple[RecordedEvent, ...], data: st.DataObject
) -> None:
    _check(engine, "assemblies", data, events)


@pytest.mark.parametrize("engine", engines_for("jobs"), ids=_ids)
@PROFILE
@given(events=streams, data=st.data())
def test_jobs_equal_the_reference_fold_at_any_cut(
    engine: ReadModelEngine, events: tuple[RecordedEvent, ...], data: st.DataObject
) -> None:
    _check(engine, "jobs", data, events)


# The two floor models read the same folds: one example checks both over one definition of the views (the
# folds are most of the cost), so each still gets the profile's examples in half the time.
@PROFILE
@given(events=streams, data=st.data())
def test_job_progress_and_station_queues_equal_the_reference_at_any_cut(
    events: tuple[RecordedEvent, ...], data: st.DataObject
) -> None:
    models = ("job_progress", "station_queue")
    with tempfile.TemporaryDirectory() as directory:
        lake_file = _lake_file(events, directory)
        for _ in range(3):
            cut = data.draw(cuts(events))
            got = DuckDBEngine().read_together(lake_file, models, cut, SMALL_FACTORY, NOW)
            for model in models:
                want = _expected(model, events, cut)
                columns = next(iter(want.values())).keys() if want else ()
                assert expected.keyed(got[model], _key(model), columns) == want, f"duckdb {model} at {cut}"
