"""The memorabilia-item aggregate: an autograph or relic, placed in at most one card at a time."""

from dataclasses import dataclass

from core.events import DomainEvent, MemorabiliaItemAllocated, MemorabiliaItemReleased


@dataclass(frozen=True, kw_only=True, slots=True)
class MemorabiliaState:
    memorabilia_id: str
    card_unit_id: str | None  # None: in stock (never placed, or released from a voided card)
    released_from: tuple[str, ...] = ()


def evolve_memorabilia(state: MemorabiliaState | None, event: DomainEvent) -> MemorabiliaState:
    match event:
        case MemorabiliaItemAllocated():
            released = state.released_from if state else ()
            return MemorabiliaState(
                memorabilia_id=event.memorabilia_id, card_unit_id=event.card_unit_id, released_from=released
            )
        case MemorabiliaItemReleased():
            history = (state.released_from if state else ()) + (event.card_unit_id,)
            return MemorabiliaState(memorabilia_id=event.memorabilia_id, card_unit_id=None, released_from=history)
        case _:
            raise TypeError(f"a memorabilia item does not take {event.event_type}")
