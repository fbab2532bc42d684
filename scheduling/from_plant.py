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
    jobs = lake.sql(
        """
        SELECT j.job_id, j.product_id, j.due_date FROM jobs AS j JOIN job_progress AS p USING (job_id)
        WHERE p.sets_packed < j.total_sheets ORDER BY j.job_id
        """,
        as_of,
        known_at,
    )
    if jobs.is_empty():
        return []
    sheets = lake.sql(
        "SELECT sheet_id, job_id, status, completed_operations FROM sheets ORDER BY sheet_id", as_of, known_at
    )
    cards = lake.sql(
        "SELECT sheet_id, status, completed_operations FROM card_units WHERE status <> 'voided'", as_of, known_at
    )
    packed = set(
        lake.sql("SELECT sheet_id FROM assemblies WHERE status = 'packed'", as_of, known_at)["sheet_id"].to_list()
    )
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
            if sheet_id in packed:
                continue
            remaining = untouched_sheet(product)
            if status == "cut":
                live = cards_by_sheet.get(sheet_id, [])
                for op in product.operations:
                    if op.entity == "sheet":
                        remaining[op.operation_id] = 0
                    elif op.entity == "card_unit" and op.kind == "assembly":
                        remaining[op.operation_id] = sum(1 for s, _ in live if s not in ("assembled", "packed"))
                    elif op.entity == "card_unit":
                        remaining[op.operation_id] = sum(
                            1 for s, done in live if op.operation_id not in done and s not in ("assembled", "packed")
                        )
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
