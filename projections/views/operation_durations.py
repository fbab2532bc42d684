"""Operation durations: each run of an operation on a sheet or card, from its start to its completion.

A run begins at an `OperationStarted` and ends at the first completing event of the same operation on the
same entity (`core.events.COMPLETING_EVENT_TYPES`); a failed QA attempt is a run of its own. A run not
completed yet has no completion; a completion whose start a cut hides has no start. Actual minutes are
compared with the product's standard minutes for the operation (through the job's product).
"""

from core.events import COMPLETING_EVENT_TYPES
from projections.views.sql import event_type, event_types, payload_schema

STARTED = event_type("OperationStarted")
COMPLETIONS = event_types(COMPLETING_EVENT_TYPES)
FACTS = payload_schema(
    (("operation_id", "VARCHAR"), ("station_id", "VARCHAR"), ("result", "VARCHAR"), ("attempt", "INTEGER"))
)


def operation_durations_sql(events: str, jobs: str = "jobs", operations: str = "station_operations") -> str:
    return f"""
    WITH
    raw_events AS (
        SELECT sequence_num AS seq, aggregate_type AS entity_type, aggregate_id AS entity_id, job_id, sheet_id,
            card_unit_id, event_type, occurred_at, operator_id, event_type = {STARTED} AS is_start, payload
        FROM {events}
        WHERE aggregate_type IN ('sheet', 'card_unit') AND (event_type = {STARTED} OR event_type IN {COMPLETIONS})
    ),
    -- starts and completions repeat a few payloads (an operation at a station, a QA outcome): parse each once
    distinct_payloads AS (
        SELECT payload, from_json(payload, {FACTS}) AS fact FROM (SELECT DISTINCT payload FROM raw_events)
    ),
    operation_events AS (
        SELECT r.* EXCLUDE (payload), d.fact FROM raw_events AS r JOIN distinct_payloads AS d USING (payload)
    ),
    numbered AS (
        SELECT *,
            sum(CAST(is_start AS INTEGER)) OVER (
                PARTITION BY entity_id, fact.operation_id ORDER BY seq ROWS UNBOUNDED PRECEDING
            ) AS run
        FROM operation_events
    ),
    runs AS (
        SELECT entity_type, entity_id, fact.operation_id AS operation_id, run,
            any_value(job_id) AS job_id, any_value(sheet_id) AS sheet_id, any_value(card_unit_id) AS card_unit_id,
            arg_min(occurred_at, seq) FILTER (WHERE is_start) AS started_at,
            arg_min(fact.station_id, seq) FILTER (WHERE is_start) AS start_station_id,
            arg_min(operator_id, seq) FILTER (WHERE is_start) AS started_by,
            arg_min(occurred_at, seq) FILTER (WHERE NOT is_start) AS completed_at,
            arg_min(fact.station_id, seq) FILTER (WHERE NOT is_start) AS completion_station_id,
            arg_min(operator_id, seq) FILTER (WHERE NOT is_start) AS completed_by,
            arg_min(event_type, seq) FILTER (WHERE NOT is_start) AS completion_event_type,
            arg_min(fact.result, seq) FILTER (WHERE NOT is_start) AS qa_result,
            min(seq) AS first_sequence_num
        FROM numbered
        GROUP BY entity_type, entity_id, fact.operation_id, run
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
