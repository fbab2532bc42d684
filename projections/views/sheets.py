"""Sheets: `core.reference.evolve_sheet_view` as a vectorized fold over the sheet aggregate's events.

Like card units, each field keeps the value of its last setter (by sequence) and the fold is split into
`partial_sql` (deltas of a range of the log) and `merge_sql` (deltas over a previous state). Every operation
event of a sheet sets its status, active operation and station together, so one winner serves all three and
one flag (`touched`) says whether a range changed them.
"""

from projections.views.sql import empty_relation, event_type, payload_schema

SHEET_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sheet_id", "VARCHAR"),
    ("job_id", "VARCHAR"),
    ("sheet_number", "INTEGER"),
    ("product_id", "VARCHAR"),
    ("n_up", "INTEGER"),
    ("status", "VARCHAR"),
    ("current_station_id", "VARCHAR"),
    ("active_operation_id", "VARCHAR"),
    ("completed_operations", "VARCHAR[]"),
)

CREATED = event_type("SheetCreated")
STARTED = event_type("OperationStarted")
COMPLETED = event_type("OperationCompleted")
CUT = event_type("SheetCut")
SETTERS = f"({CREATED}, {STARTED}, {COMPLETED}, {CUT})"
CREATED_FACTS = payload_schema(
    (("job_id", "VARCHAR"), ("sheet_number", "INTEGER"), ("product_id", "VARCHAR"), ("n_up", "INTEGER"))
)
OPERATION_FACTS = payload_schema((("operation_id", "VARCHAR"), ("station_id", "VARCHAR")))


def partial_sql(events: str) -> str:
    return f"""
    WITH facts AS (
        SELECT sequence_num AS seq, aggregate_id AS sheet_id,
            CASE event_type WHEN {CREATED} THEN 1 WHEN {STARTED} THEN 2 WHEN {COMPLETED} THEN 3 WHEN {CUT} THEN 4
                ELSE 0 END AS k,
            CASE WHEN event_type = {CREATED} THEN from_json(payload, {CREATED_FACTS}) END AS created,
            CASE WHEN event_type IN ({STARTED}, {COMPLETED}, {CUT}) THEN from_json(payload, {OPERATION_FACTS}) END
                AS fact
        FROM {events}
        WHERE aggregate_type = 'sheet'
    ),
    grouped AS (
        -- every operation event sets the status, the active operation and the station: one winner for all
        SELECT sheet_id,
            any_value(created) FILTER (WHERE k = 1) AS created,
            max(seq * 8 + k) FILTER (WHERE k > 0) AS last_event,
            arg_max({{'operation_id': CASE WHEN k = 2 THEN fact.operation_id END, 'station_id': fact.station_id}}, seq)
                FILTER (WHERE k > 0) AS last_operation,
            list({{'seq': seq, 'operation_id': fact.operation_id}}) FILTER (WHERE k IN (3, 4)) AS completed
        FROM facts
        GROUP BY sheet_id
    )
    SELECT sheet_id, created IS NOT NULL AS has_created, created, last_event IS NOT NULL AS touched,
        CASE last_event % 8 WHEN 1 THEN 'created' WHEN 4 THEN 'cut' ELSE 'in_progress' END AS status,
        last_operation.operation_id AS active_operation_id, last_operation.station_id AS current_station_id,
        CASE WHEN completed IS NULL THEN [] ELSE [c.operation_id FOR c IN list_sort(completed)] END AS completed
    FROM grouped
    """


def merge_sql(partial: str, previous: str | None = None, *, touched_only: bool = False) -> str:
    join = "LEFT" if touched_only else "FULL OUTER"
    prior = previous if previous is not None else empty_relation(SHEET_COLUMNS)
    return f"""
    SELECT coalesce(d.sheet_id, p.sheet_id) AS sheet_id,
        CASE WHEN d.has_created THEN d.created.job_id ELSE p.job_id END AS job_id,
        CASE WHEN d.has_created THEN d.created.sheet_number ELSE p.sheet_number END AS sheet_number,
        CASE WHEN d.has_created THEN d.created.product_id ELSE p.product_id END AS product_id,
        CASE WHEN d.has_created THEN d.created.n_up ELSE p.n_up END AS n_up,
        CASE WHEN d.touched THEN d.status ELSE p.status END AS status,
        CASE WHEN d.touched THEN d.current_station_id ELSE p.current_station_id END AS current_station_id,
        CASE WHEN d.touched THEN d.active_operation_id ELSE p.active_operation_id END AS active_operation_id,
        CASE WHEN d.has_created THEN d.completed
            ELSE list_concat(coalesce(p.completed_operations, []), coalesce(d.completed, []))
        END AS completed_operations
    FROM ({partial}) AS d {join} JOIN {prior} AS p ON p.sheet_id = d.sheet_id
    WHERE p.sheet_id IS NOT NULL OR d.has_created
    """


def sheets_sql(events: str) -> str:
    return merge_sql(partial_sql(events))
