"""The plant's remaining work read from the projections, so estimates start from the real state.

For every job not fully packed: each sheet's sheet operations not yet completed (all of them before the cut is
done, none after), each card operation for the live cards of the sheet that have not completed it (every
position before the cut), the gathering for live cards not yet in their set, and the pack unless the set is
packed. Voided cards count no more; their replacements count like any card.
"""

from datetime import date, datetime

from core.factory import Factory
from projections.lake_api import Lake
from scheduling.plant import JobWork, SheetWork, untouched_sheet


def work_from_lake(
    lake: Lake, factory: Factory, as_of: datetime | None = None, known_at: datetime | None = None
) -> list[JobWork]:
    open_jobs = """
        SELECT j.job_id, j.product_id, j.due_date FROM jobs AS j JOIN job_progress AS p USING (job_id)
        WHERE p.sets_packed < j.total_sheets
    """
    # One snapshot for every query: the work of a sheet and of its cards is read at the same point of the log.
    answers = lake.sql_many(
        {
            "jobs": f"{open_jobs} ORDER BY j.job_id",
            "sheets": f"""
                SELECT s.sheet_id, s.job_id, s.status, s.completed_operations
                FROM sheets AS s SEMI JOIN ({open_jobs}) AS o USING (job_id)
                WHERE s.sheet_id NOT IN (SELECT sheet_id FROM assemblies WHERE status = 'packed')
                ORDER BY s.sheet_id
            """,
            "cards": f"""
                SELECT c.sheet_id, c.status, c.completed_operations
                FROM card_units AS c SEMI JOIN ({open_jobs}) AS o USING (job_id)
                WHERE c.status NOT IN ('voided', 'assembled', 'packed')
            """,
        },
        as_of,
        known_at,
    )
    jobs, sheets, cards = answers["jobs"], answers["sheets"], answers["cards"]
    if jobs.is_empty():
        return []
    cards_by_sheet: dict[str, list[tuple[str, list[str]]]] = {}
    for sheet_id, status, completed in cards.iter_rows():
        cards_by_sheet.setdefault(sheet_id, []).append((status, list(completed or [])))
    sheets_by_job: dict[str, list[tuple[str, str, list[str]]]] = {}
    for sheet_id, job_id, status, completed in sheets.iter_rows():
        sheets_by_job.setdefault(job_id, []).append((sheet_id, status, list(completed or [])))

    work = []
    for job_id, product_id, due in jobs.iter_rows():
        product = factory.product(product_id)
        job_sheets = []
        for sheet_id, status, completed in sheets_by_job.get(job_id, []):
            remaining = untouched_sheet(product)
            if status == "cut":
                live = cards_by_sheet.get(sheet_id, [])
                for op in product.operations:
                    if op.entity == "sheet":
                        remaining[op.operation_id] = 0
                    elif op.entity == "card_unit" and op.kind == "assembly":
                        remaining[op.operation_id] = len(live)
                    elif op.entity == "card_unit":
                        remaining[op.operation_id] = sum(1 for _, done in live if op.operation_id not in done)
            else:
                for operation_id in completed:
                    remaining[operation_id] = 0
            job_sheets.append(SheetWork(sheet_id=sheet_id, remaining=remaining))
        if job_sheets:
            work.append(
                JobWork(
                    job_id=job_id,
                    product_id=product_id,
                    due_date=date.fromisoformat(due) if due else None,
                    sheets=tuple(job_sheets),
                )
            )
    return work
