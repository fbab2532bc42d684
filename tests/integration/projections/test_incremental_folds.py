"""Folding a log range by range, each over the state the ranges before it left, equals folding it at once.

This is what materialization relies on: for random lawful streams cut at random sequence numbers, laying each
range's deltas over the previous state (storing only the touched rows) gives the fold from scratch, for every
stored read model.
"""

import itertools
import tempfile
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st

from core.envelope import RecordedEvent
from projections.engine import connect
from projections.materialize import TABLES
from projections.views import assemblies, card_units, jobs, sheets
from tests.integration.projections.profile import RANGES_PROFILE
from tests.integration.projections.streams import streams, to_arrow


def _state(connection: duckdb.DuckDBPyConnection, name: str) -> list[tuple[object, ...]]:
    key, columns = TABLES[name]
    names = ", ".join(column for column, _ in columns)
    rows: list[tuple[object, ...]] = connection.sql(f"SELECT {names} FROM state_{name} ORDER BY {key}").fetchall()
    return rows


@RANGES_PROFILE
@given(events=streams, cuts=st.lists(st.integers(0, 400), max_size=6))
def test_folding_range_by_range_equals_folding_at_once(events: tuple[RecordedEvent, ...], cuts: list[int]) -> None:
    bounds = sorted({0, *(c for c in cuts if c < len(events)), len(events)})
    with tempfile.TemporaryDirectory() as directory, connect() as connection:
        path = Path(directory) / "events.parquet"
        pq.write_table(to_arrow(events), path)
        log = f"read_parquet('{path}')"
        for name, (_, columns) in TABLES.items():
            names = ", ".join(f"CAST(NULL AS {kind}) AS {column}" for column, kind in columns)
            connection.execute(f"CREATE TABLE state_{name} AS SELECT {names} LIMIT 0")
        for low, high in itertools.pairwise(bounds):
            newer = f"(SELECT * FROM {log} WHERE sequence_num > {low} AND sequence_num <= {high})"
            touched = {
                "card_units": card_units.merge_sql(
                    card_units.partial_sql(newer, "state_assemblies"), "state_card_units", touched_only=True
                ),
                "sheets": sheets.merge_sql(sheets.partial_sql(newer), "state_sheets", touched_only=True),
                "assemblies": assemblies.merge_sql(
                    assemblies.partial_sql(newer, "state_assemblies"), "state_assemblies", touched_only=True
                ),
                "jobs": jobs.merge_sql(jobs.partial_sql(newer), "state_jobs", touched_only=True),
            }
            for name, rows in touched.items():  # every delta against the state before the range
                connection.execute(f"CREATE TEMP TABLE touched_{name} AS {rows}")
            for name, (key, _) in TABLES.items():
                connection.execute(f"DELETE FROM state_{name} WHERE {key} IN (SELECT {key} FROM touched_{name})")
                connection.execute(f"INSERT INTO state_{name} SELECT * FROM touched_{name}")
                connection.execute(f"DROP TABLE touched_{name}")
        at_once = {
            "card_units": card_units.card_units_sql(log),
            "sheets": sheets.sheets_sql(log),
            "assemblies": assemblies.assemblies_sql(log),
            "jobs": jobs.jobs_sql(log),
        }
        for name, fold in at_once.items():
            key, columns = TABLES[name]
            names = ", ".join(column for column, _ in columns)
            want = connection.sql(f"SELECT {names} FROM ({fold}) ORDER BY {key}").fetchall()
            assert _state(connection, name) == want, f"{name} folded over {bounds}"
