"""The Arrow schema of the lake: the columns of CONTRACTS section 7, in the contract's order.

`schema_version` follows the contract's columns (each row says which payload schema it was written with, so
readers upcast), and `event_date` is the partition column: the UTC date of `recorded_at`. A `date32` partition
value is read back as a date by deltalake, Polars (`scan_delta`) and DuckDB (through a pyarrow dataset) alike,
and sorts and prunes as a date, which a "YYYY-MM-DD" string would only do by accident.
"""

import pyarrow as pa

PARTITION_COLUMN = "event_date"
UTC_MICROSECONDS = pa.timestamp("us", tz="UTC")

# Non-null columns are declared so: a Delta reader sees the contract's promise (every event has a type, an
# aggregate, a version, both times and a payload) in the table's own schema.
LAKE_SCHEMA = pa.schema(
    [
        pa.field("sequence_num", pa.int64(), nullable=False),
        pa.field("aggregate_type", pa.string(), nullable=False),
        pa.field("aggregate_id", pa.string(), nullable=False),
        pa.field("aggregate_version", pa.int64(), nullable=False),
        pa.field("event_type", pa.string(), nullable=False),
        pa.field("occurred_at", UTC_MICROSECONDS, nullable=False),
        pa.field("recorded_at", UTC_MICROSECONDS, nullable=False),
        pa.field("job_id", pa.string()),
        pa.field("sheet_id", pa.string()),
        pa.field("card_unit_id", pa.string()),
        pa.field("station_id", pa.string()),
        pa.field("operator_id", pa.string()),
        pa.field("scan_id", pa.string()),
        pa.field("payload", pa.string(), nullable=False),
        pa.field("schema_version", pa.int32(), nullable=False),
        pa.field(PARTITION_COLUMN, pa.date32(), nullable=False),
    ]
)
LAKE_COLUMN_NAMES: tuple[str, ...] = tuple(LAKE_SCHEMA.names)
