"""The pack aggregate: the shipping container a complete (or authorized) set is sealed into."""

from dataclasses import dataclass

from core.events import DomainEvent, PackSealed


@dataclass(frozen=True, kw_only=True, slots=True)
class PackState:
    pack_id: str
    assembly_id: str
    sheet_id: str
    job_id: str
    card_unit_ids: tuple[str, ...]
    override_reason: str | None


def evolve_pack(state: PackState | None, event: DomainEvent) -> PackState:
    if not isinstance(event, PackSealed):
        raise TypeError(f"a pack does not take {event.event_type}")
    if state is not None:
        raise TypeError(f"pack {state.pack_id} is sealed once")
    return PackState(
        pack_id=event.pack_id,
        assembly_id=event.assembly_id,
        sheet_id=event.sheet_id,
        job_id=event.job_id,
        card_unit_ids=event.card_unit_ids,
        override_reason=event.override_reason,
    )
