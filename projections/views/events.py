"""The `events` view: the lake columns, the partition date, and the payload fields analysts filter on most.

Payload fields are pulled out with one JSON parse per row (DuckDB prunes the parse when a query names
none of them); a field an event type does not carry is NULL.
"""

from projections.views.sql import payload_schema

PAYLOAD_FIELDS: tuple[tuple[str, str], ...] = (
    ("operation_id", "VARCHAR"),
    ("result", "VARCHAR"),
    ("attempt", "INTEGER"),
    ("failure_reason", "VARCHAR"),
    ("serial_number", "INTEGER"),
    ("memorabilia_id", "VARCHAR"),
    ("assembly_id", "VARCHAR"),
    ("pack_id", "VARCHAR"),
    ("product_id", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("replacement_card_unit_id", "VARCHAR"),
    ("override_reason", "VARCHAR"),
)


def events_sql(source: str) -> str:
    fields = ", ".join(f"fields.{name} AS {name}" for name, _ in PAYLOAD_FIELDS)
    return f"""
        SELECT * EXCLUDE (fields), {fields}
        FROM (
            SELECT *,
                CAST(timezone('UTC', recorded_at) AS DATE) AS event_date,
                from_json(payload, {payload_schema(PAYLOAD_FIELDS)}) AS fields
            FROM {source}
        )
    """
