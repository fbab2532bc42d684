"""The ground truth of a simulation: every anomaly the simulator injected, where and when.

`<data>/simulation/truth.parquet` has one row per injected fact, with the columns
`anomaly_type, station_id, operator_id, entity_id, operation_id, start, end, detail`:

- `slow_operation`: an operation injected at > 2x its standard time; station, operator, entity and operation;
  start and end are its start and completion scans.
- `foil_die_failure`: a damaged foil die; the station; cards of sheets foiled in [start, end) carry foil defects.
- `operator_elevated_failure`: a QA inspector failing cards more often than their norm; their bench and id.
- `station_drift`: a station slowing steadily from start (onset) to end (the end of the run).
- `offline_scanner`: a scanner outage at a station; its first buffered scan .. the late upload.
- `lost_card`: a card gone astray after a station (the card, its next operation); lost .. found (null: never).

Detectors are scored against these rows; the log itself never says what was injected.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from projections.data_dir import DataDir

TRUTH_FILE = "truth.parquet"
TRUTH_SCHEMA = pa.schema(
    [
        ("anomaly_type", pa.string()),
        ("station_id", pa.string()),
        ("operator_id", pa.string()),
        ("entity_id", pa.string()),
        ("operation_id", pa.string()),
        ("start", pa.timestamp("us", tz="UTC")),
        ("end", pa.timestamp("us", tz="UTC")),
        ("detail", pa.string()),
    ]
)


@dataclass(frozen=True, kw_only=True, slots=True)
class TruthRow:
    anomaly_type: str
    station_id: str | None = None
    operator_id: str | None = None
    entity_id: str | None = None
    operation_id: str | None = None
    start: datetime
    end: datetime | None = None
    detail: str = ""


def truth_path(data_dir: DataDir) -> Path:
    return data_dir.simulation_dir / TRUTH_FILE


def write_truth(data_dir: DataDir, rows: Sequence[TruthRow], *, append: bool = False) -> Path:
    """Write the rows (after those already there when `append`), atomically: a reader never sees half a file."""
    table = _table(rows)
    path = truth_path(data_dir)
    if append and path.exists():
        table = pa.concat_tables([pq.read_table(path, schema=TRUTH_SCHEMA), table])
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, temporary)
    temporary.replace(path)
    return path


def read_truth(data_dir: DataDir) -> list[TruthRow]:
    table = pq.read_table(truth_path(data_dir), schema=TRUTH_SCHEMA)
    return [TruthRow(**row) for row in table.to_pylist()]


def _table(rows: Sequence[TruthRow]) -> pa.Table:
    ordered = sorted(rows, key=lambda row: (row.start, row.anomaly_type, row.entity_id or "", row.station_id or ""))
    columns = {name: [getattr(row, name) for row in ordered] for name in TRUTH_SCHEMA.names}
    return pa.Table.from_pydict(columns, schema=TRUTH_SCHEMA)
