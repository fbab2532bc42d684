"""The job aggregate: a commitment to print N sets of one product for a customer by a due date."""

from dataclasses import dataclass

from core.events import DomainEvent, JobCreated


@dataclass(frozen=True, kw_only=True, slots=True)
class JobState:
    job_id: str
    product_id: str
    customer: str
    due_date: str
    sets: int
    sheet_ids: tuple[str, ...]


def evolve_job(state: JobState | None, event: DomainEvent) -> JobState:
    match event:
        case JobCreated():
            return JobState(
                job_id=event.job_id,
                product_id=event.product_id,
                customer=event.customer,
                due_date=event.due_date,
                sets=event.sets,
                sheet_ids=event.sheet_ids,
            )
        case _:
            raise TypeError(f"a job does not take {event.event_type}")
