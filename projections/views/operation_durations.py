"""Operation durations: each run of an operation on a sheet or card, from its start to its completion.

A run begins at an `OperationStarted` and ends at the first completing event of the same operation on the
same entity (`core.events.COMPLETING_EVENT_TYPES`); a failed QA attempt is a run of its own. A run not
completed yet has no completion; a completion whose start a cut hides has no start. Actual minutes are
compared with the product's standard minutes for the operation (through the job's product).
"""

from core.events import COMPLETING_EVENT_TYPES
from projections.views.sql import event_type, event_type_codes, event_types, payload_schema

STARTED = event_type("OperationStarted")
COMPLETIONS = event_types(COMPLETING_EVENT_TYPES)
FACTS = payload_schema((("operation_id", "VARCHAR"), ("station_id", "VARCHAR"), ("result", "VARCHAR")))
# Completing event types as small codes inside the window (1-based positions in the list literal).
_KIND_CASES = event_type_codes(COMPLETING_EVENT_TYPES)
_COMPLETION_NAMES = "[" + ", ".join(event_type(name) for name in COMPLETING_EVENT_TYPES) + "]"


def operation_durations_sql(events: str, jobs: str = "jobs", operations: str = "station_operations") -> str:
    return f"""
    WITH
    -- Read twice (its payloads, then its rows), not materialized: a materialized copy of every operation event
    -- cost more than a second scan of the files.
    raw_events AS NOT MATERIALIZED (
        SELECT sequence_num AS seq, aggregate_type = 'card_unit' AS is_card, aggregate_id AS entity_id, job_id,
            sheet_id, occurred_at, operator_id, event_type = {STARTED} AS is_start,
            CASE event_type {_KIND_CASES} END AS kind, payload
        FROM {events}
        WHERE aggregate_type IN ('sheet', 'card_unit') AND (event_type = {STARTED} OR event_type IN {COMPLETIONS})
    ),
    -- starts and completions repeat a few payloads (an operation at a station, a QA outcome): parse each once
    distinct_payloads AS (
        SELECT payload, from_json(payload, {FACTS}) AS fact FROM (SELECT DISTINCT payload FROM raw_events)
    ),
    operation_events AS (
        SELECT r.* EXCLUDE (payload), d.fact.operation_id, d.fact.station_id, d.fact.result
        FROM raw_events AS r JOIN distinct_payloads AS d USING (payload)
    ),
    -- One pass in each entity's and operation's order: a start opens the next run and the row after it, if a
    -- completion, is the run's first completion; a completion first in its order is a run whose start the cut
    -- hides. No grouping by run: a window's sort is paid once for all of it (a GROUP BY over runs cost 4x). The
    -- rows it sorts are kept narrow (an event type as a small code, a card's own id not repeated): at 50M
    -- events they are what spills.
    ordered AS (
        SELECT *,
            sum(CAST(is_start AS INTEGER)) OVER run_order AS run,
            lag(seq) OVER run_order IS NULL AS opens_order,
            lead(is_start) OVER run_order AS next_is_start,
            lead(occurred_at) OVER run_order AS next_occurred_at,
            lead(station_id) OVER run_order AS next_station_id,
            lead(operator_id) OVER run_order AS next_operator_id,
            lead(kind) OVER run_order AS next_kind,
            lead(result) OVER run_order AS next_result
        FROM operation_events
        WINDOW run_order AS (PARTITION BY entity_id, operation_id ORDER BY seq)
    ),
    runs AS (
        SELECT CASE WHEN is_card THEN 'card_unit' ELSE 'sheet' END AS entity_type, entity_id, operation_id, run,
            job_id, sheet_id, CASE WHEN is_card THEN entity_id END AS card_unit_id,
            CASE WHEN is_start THEN occurred_at END AS started_at,
            CASE WHEN is_start THEN station_id END AS start_station_id,
            CASE WHEN is_start THEN operator_id END AS started_by,
            CASE WHEN NOT is_start THEN occurred_at WHEN NOT next_is_start THEN next_occurred_at END AS completed_at,
            CASE WHEN NOT is_start THEN station_id WHEN NOT next_is_start THEN next_station_id END
                AS completion_station_id,
            CASE WHEN NOT is_start THEN operator_id WHEN NOT next_is_start THEN next_operator_id END AS completed_by,
            {_COMPLETION_NAMES}[CASE WHEN NOT is_start THEN kind WHEN NOT next_is_start THEN next_kind END]
                AS completion_event_type,
            CASE WHEN NOT is_start THEN result WHEN NOT next_is_start THEN next_result END AS qa_result,
            seq AS first_sequence_num
        FROM ordered
        WHERE is_start OR opens_order
    )
    SELECT r.entity_type, r.entity_id, r.job_id, r.sheet_id, r.card_unit_id, j.product_id, r.operation_id,
        r.run AS attempt, coalesce(r.completion_station_id, r.start_station_id) AS station_id,
        r.started_by, r.completed_by, r.started_at, r.completed_at, r.completion_event_type, r.qa_result,
        epoch(r.completed_at - r.started_at) / 60.0 AS actual_minutes,
        CAST(o.standard_minutes AS DOUBLE) AS standard_minutes,
        epoch(r.completed_at - r.started_at) / 60.0 - CAST(o.standard_minutes AS DOUBLE) AS variance_minutes,
        r.first_sequence_num
    FROM runs AS r
    LEFT JOIN {jobs} AS j ON j.job_id = r.job_id
    LEFT JOIN {operations} AS o ON o.product_id = j.product_id AND o.operation_id = r.operation_id
    """
