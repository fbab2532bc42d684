"""Job progress: `core.reference.job_progress` — counts per card status and stage, and percent complete."""

from core.reference import CARD_STATUSES
from projections.views.sql import quote


def job_progress_sql(
    jobs: str = "jobs", card_units: str = "card_units", sheets: str = "sheets", assemblies: str = "assemblies"
) -> str:
    counts = ", ".join(f"{quote(status)}: coalesce(c.{status}, 0)" for status in CARD_STATUSES)
    pivots = ", ".join(f"count(*) FILTER (WHERE status = {quote(status)}) AS {status}" for status in CARD_STATUSES)
    return f"""
    SELECT j.job_id, j.product_id, j.customer, j.due_date, j.total_sheets, j.total_cards,
        {{{counts}}} AS cards_by_status,
        coalesce(s.sheets_cut, 0) AS sheets_cut,
        coalesce(a.sets_complete, 0) AS sets_complete,
        coalesce(a.sets_packed, 0) AS sets_packed,
        CASE WHEN j.total_sheets > 0 THEN 100.0 * coalesce(a.sets_packed, 0) / j.total_sheets ELSE 0.0 END
            AS percent_complete
    FROM {jobs} AS j
    LEFT JOIN (SELECT job_id, {pivots} FROM {card_units} GROUP BY job_id) AS c USING (job_id)
    LEFT JOIN (
        SELECT job_id, count(*) FILTER (WHERE status = 'cut') AS sheets_cut FROM {sheets} GROUP BY job_id
    ) AS s USING (job_id)
    LEFT JOIN (
        SELECT job_id,
            count(*) FILTER (WHERE status IN ('complete', 'packed')) AS sets_complete,
            count(*) FILTER (WHERE status = 'packed') AS sets_packed
        FROM {assemblies} GROUP BY job_id
    ) AS a USING (job_id)
    """
