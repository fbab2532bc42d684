"""The implementations of the read models the equivalence suite runs against: DuckDB (all) and Polars (cards)."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from core.factory import Factory
from core.reference import Cut
from projections.engine import connect, define_views, views_for
from projections.views import polars_card_units

Rows = list[dict[str, Any]]
# One in-memory database for the session; each read gets its own cursor (temp views). One thread: these logs are
# tiny, and beside the suite's other worker a second thread only contends (measured: ~15% less time per example).
_CONNECTION = connect(threads=1)


class ReadModelEngine(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def models(self) -> frozenset[str]: ...

    def read(self, lake_file: Path, model: str, cut: Cut, factory: Factory, now: datetime) -> Rows: ...


@dataclass(frozen=True)
class DuckDBEngine:
    name: str = "duckdb"
    models: frozenset[str] = frozenset({"card_units", "sheets", "assemblies", "jobs", "job_progress", "station_queue"})

    def read(self, lake_file: Path, model: str, cut: Cut, factory: Factory, now: datetime) -> Rows:
        return self.read_together(lake_file, (model,), cut, factory, now)[model]

    def read_together(
        self, lake_file: Path, models: tuple[str, ...], cut: Cut, factory: Factory, now: datetime
    ) -> dict[str, Rows]:
        """Several read models over one definition of the views: the folds they share are made once."""
        queries = {model: f"SELECT * FROM {model}" for model in models}
        with _CONNECTION.cursor() as cursor:
            # the folds a derived model reads become tables: planning them inline would dominate these tiny logs
            folds = frozenset({"card_units", "sheets", "assembly_states", "jobs"} - set(models))
            source = f"read_parquet('{lake_file}')"
            needed = set().union(*(views_for(query) for query in queries.values()))
            define_views(cursor, source, factory, cut, now=now, only=needed, as_tables=folds)
            rows = {}
            for model, query in queries.items():
                relation = cursor.sql(query)
                rows[model] = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
            return rows


@dataclass(frozen=True)
class PolarsEngine:
    name: str = "polars"
    models: frozenset[str] = frozenset({"card_units"})

    def read(self, lake_file: Path, model: str, cut: Cut, factory: Factory, now: datetime) -> Rows:
        assert model == "card_units"
        return polars_card_units.card_units(pl.scan_parquet(lake_file), cut).collect().to_dicts()


ENGINES: tuple[ReadModelEngine, ...] = (DuckDBEngine(), PolarsEngine())


def engines_for(model: str) -> list[ReadModelEngine]:
    return [engine for engine in ENGINES if model in engine.models]
