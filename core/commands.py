"""Commands: what someone on the floor or in the office asks the plant to do, in the imperative.

Every command carries its `EventContext` (when, where, who, which scan) and the `Actor` behind it, whose
role decides whether it may void a card or override packing an incomplete set.
"""

from dataclasses import dataclass
from typing import Literal

from core.envelope import EventContext

Role = Literal["operator", "manager", "planner", "analyst", "admin"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Actor:
    subject: str
    role: Role

    @property
    def may_authorize_overrides(self) -> bool:
        """Voids and packing an incomplete or patched set are a manager's call (admins hold every role)."""
        return self.role in ("manager", "admin")

    @property
    def may_order_replacements(self) -> bool:
        return self.role in ("manager", "planner", "admin")


@dataclass(frozen=True, kw_only=True, slots=True)
class CreateJob:
    context: EventContext
    actor: Actor
    job_id: str
    product_id: str
    sets: int
    customer: str
    due_date: str  # ISO date


@dataclass(frozen=True, kw_only=True, slots=True)
class StartOperation:
    context: EventContext
    actor: Actor
    entity_id: str  # a sheet or a card unit
    operation_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CompleteOperation:
    context: EventContext
    actor: Actor
    entity_id: str
    operation_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CutSheet:
    context: EventContext
    actor: Actor
    sheet_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordQAResult:
    context: EventContext
    actor: Actor
    card_unit_id: str
    result: str
    failure_reason: str | None = None
    failure_codes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class ApplySerialNumber:
    context: EventContext
    actor: Actor
    card_unit_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class InsertMemorabilia:
    context: EventContext
    actor: Actor
    card_unit_id: str
    memorabilia_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class VoidCardUnit:
    context: EventContext
    actor: Actor
    card_unit_id: str
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CreateReplacement:
    context: EventContext
    actor: Actor
    card_unit_id: str  # the voided card unit being replaced
    printed_on_sheet_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class GatherCardUnit:
    context: EventContext
    actor: Actor
    card_unit_id: str
    assembly_id: str | None = None  # the tray label; else the set the station has open


@dataclass(frozen=True, kw_only=True, slots=True)
class PackSet:
    context: EventContext
    actor: Actor
    assembly_id: str
    pack_id: str | None = None
    override_reason: str | None = None


Command = (
    CreateJob
    | StartOperation
    | CompleteOperation
    | CutSheet
    | RecordQAResult
    | ApplySerialNumber
    | InsertMemorabilia
    | VoidCardUnit
    | CreateReplacement
    | GatherCardUnit
    | PackSet
)
