"""Jobs: `core.reference.evolve_job_view`; a job row is its last `JobCreated` (there is only ever one)."""

from projections.views.sql import event_type, payload_schema

JOB_COLUMNS: tuple[tuple[str, str], ...] = (
    ("job_id", "VARCHAR"),
    ("product_id", "VARCHAR"),
    ("customer", "VARCHAR"),
    ("due_date", "VARCHAR"),
    ("total_sheets", "INTEGER"),
    ("total_cards", "INTEGER"),
    ("created_at", "TIMESTAMPTZ"),
)

CREATED = event_type("JobCreated")
CREATED_FACTS = payload_schema(
    (
        ("job_id", "VARCHAR"),
        ("product_id", "VARCHAR"),
        ("customer", "VARCHAR"),
        ("due_date", "VARCHAR"),
        ("sets", "INTEGER"),
        ("n_up", "INTEGER"),
    )
)


def partial_sql(events: str) -> str:
    return f"""
    SELECT job_id, fact.product_id, fact.customer, fact.due_date,
        fact.sets AS total_sheets, fact.sets * fact.n_up AS total_cards, created_at
    FROM (
        SELECT aggregate_id AS job_id, from_json(arg_max(payload, sequence_num), {CREATED_FACTS}) AS fact,
            arg_max(occurred_at, sequence_num) AS created_at
        FROM {events}
        WHERE aggregate_type = 'job' AND event_type = {CREATED}
        GROUP BY aggregate_id
    )
    """


def merge_sql(partial: str, previous: str | None = None, *, touched_only: bool = False) -> str:
    names = ", ".join(name for name, _ in JOB_COLUMNS)
    if previous is None or touched_only:
        return f"SELECT {names} FROM ({partial})"
    return f"""
    SELECT {names} FROM ({partial})
    UNION ALL
    SELECT {names} FROM {previous} AS p ANTI JOIN ({partial}) AS d ON d.job_id = p.job_id
    """


def jobs_sql(events: str) -> str:
    return partial_sql(events)
