"""The floor as it stands, kept live: what waits and runs at every station, and every job's progress.

Both are fleet-wide questions about the *current* state, asked all shift by the floor's screens. Answering them
by SQL folds every card unit the plant ever made (hundreds of milliseconds at ten million events); yet only the
open work matters to a queue — sheets not cut yet, cards not voided, gathered or packed, sets complete but
not packed — and a job's progress changes only where its work moves. So the live floor keeps:

- the open *families* (a sheet, its cards and their replacements, its set: `core.reference` views), each
  folded by the reference's own step (`fold_into`), and drops a family once all of it is closed;
- each job's tallies (cards per status, sheets cut, sets complete and packed), moved by the difference a
  family's events make to them.

It starts from the SQL read models at one snapshot (open families' ids, every job's progress), reads the open
families from the journal's index, and before every answer folds the journal's events acknowledged since
(read-your-writes). A family that reopens (a packed card's set broken up, a closed family touched again) is
read back from the journal as it stood before the new events. Far behind (more than `max_catch_up` events,
e.g. after a bulk load), it starts over from the read models instead of folding event by event.
"""

import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from core.envelope import RecordedEvent
from core.factory import Factory
from core.ids import parse_card_unit_id
from core.reference import CARD_STATUSES, ReferenceViews, evolve_job_view, fold_into, project, station_queues

Row = dict[str, Any]
MAX_CATCH_UP: Final = 50_000  # events folded one by one before starting over from the read models is cheaper
_CLOSED_CARD: Final = frozenset({"voided", "assembled", "packed"})
_JOB_FIELDS: Final = ("job_id", "product_id", "customer", "due_date", "total_sheets", "total_cards")


@dataclass(frozen=True, kw_only=True, slots=True)
class FloorBaseline:
    """The read models at one snapshot: its last sequence, the open families' sheet ids, every job's progress."""

    last_sequence: int
    open_sheet_ids: Sequence[str]
    job_progress: Sequence[Mapping[str, Any]]


class FloorSource(Protocol):
    """Where the live floor reads: the read models once, then the journal."""

    def journal_last_sequence(self) -> int | None: ...

    def journal_events(self, after: int, upto: int) -> list[RecordedEvent]: ...

    def family_events(self, sheet_ids: Sequence[str], upto: int) -> list[RecordedEvent]: ...

    def floor_baseline(self) -> FloorBaseline: ...


@dataclass(slots=True)
class _Tally:
    """A job's counts, or one family's share of them."""

    cards: Counter[str]
    sheets_cut: int = 0
    sets_complete: int = 0
    sets_packed: int = 0

    def add(self, other: "_Tally", sign: int) -> None:
        self.cards.update({status: sign * count for status, count in other.cards.items()})
        self.sheets_cut += sign * other.sheets_cut
        self.sets_complete += sign * other.sets_complete
        self.sets_packed += sign * other.sets_packed


def family_of(event: RecordedEvent) -> str | None:
    """The sheet whose family an event belongs to (its lineage-bearing id says), None outside any family."""
    match event.aggregate_type:
        case "card_unit":
            return parse_card_unit_id(event.aggregate_id).sheet_id
        case "sheet":
            return event.aggregate_id
        case "assembly":
            return event.aggregate_id.removeprefix("A-")
    return None


def _empty() -> ReferenceViews:
    return ReferenceViews(card_units={}, sheets={}, assemblies={}, jobs={})


def _tally(family: ReferenceViews) -> _Tally:
    return _Tally(
        cards=Counter(card.status for card in family.card_units.values()),
        sheets_cut=sum(1 for sheet in family.sheets.values() if sheet.status == "cut"),
        sets_complete=sum(1 for a in family.assemblies.values() if a.status in ("complete", "packed")),
        sets_packed=sum(1 for a in family.assemblies.values() if a.status == "packed"),
    )


def _copy(queue: Row) -> Row:
    """A caller's own copy of a kept answer (its lists too): what it does with it never reaches the next."""
    return {name: list(value) if isinstance(value, list) else value for name, value in queue.items()}


def _is_open(family: ReferenceViews) -> bool:
    """Whether any of the family is still work somewhere: a sheet not cut, a card not closed, a set to pack."""
    return (
        any(sheet.status != "cut" for sheet in family.sheets.values())
        or any(card.status not in _CLOSED_CARD for card in family.card_units.values())
        or any(assembly.status == "complete" for assembly in family.assemblies.values())
    )


class LiveFloor:
    """Station queues and job progress at the log as it stands, brought up to date before each answer."""

    def __init__(self, source: FloorSource, factory: Factory, *, max_catch_up: int = MAX_CATCH_UP) -> None:
        self._source = source
        self._factory = factory
        self._max_catch_up = max_catch_up
        self._lock = threading.Lock()
        self._last_sequence = -1  # nothing read yet
        self._families: dict[str, ReferenceViews] = {}
        self._jobs: dict[str, Row] = {}
        self._tallies: dict[str, _Tally] = {}
        self._queues: dict[str, Row] | None = None  # computed once per sequence

    @property
    def open_families(self) -> int:
        return len(self._families)

    def station_queue(self, station_id: str) -> Row | None:
        """What waits at a station (shared with its type) and runs there, as the `station_queue` view has it."""
        with self._lock:
            self._catch_up()
            if self._queues is None:
                self._queues = self._station_queues()
            queue = self._queues.get(station_id)
            return None if queue is None else _copy(queue)

    def station_queues(self) -> list[Row]:
        """Every station's queue, in the factory's order of stations."""
        with self._lock:
            self._catch_up()
            if self._queues is None:
                self._queues = self._station_queues()
            return [_copy(queue) for queue in self._queues.values()]

    def job_progress(self, job_id: str) -> Row | None:
        """A job's progress, as the `job_progress` view has it; None for a job not created."""
        with self._lock:
            self._catch_up()
            job = self._jobs.get(job_id)
            return None if job is None else self._progress_row(job, self._tallies.get(job_id))

    def catch_up(self) -> None:
        """Fold what the journal acknowledged since the last answer (or start from the read models)."""
        with self._lock:
            self._catch_up()

    # --- keeping up ---------------------------------------------------------------------------------------

    def _catch_up(self) -> None:
        current = self._source.journal_last_sequence()
        if current is None:
            raise LookupError("no journal to keep the floor live from")
        if current == self._last_sequence:
            return
        self._queues = None
        if not 0 <= self._last_sequence < current or current - self._last_sequence > self._max_catch_up:
            self._start_over()
            return
        try:
            self._fold(self._source.journal_events(self._last_sequence, current))
        except BaseException:
            self._last_sequence = -1  # half folded: the next answer starts over rather than trust it
            raise
        self._last_sequence = current

    def _start_over(self) -> None:
        baseline = self._source.floor_baseline()
        self._families = self._read_families(baseline.open_sheet_ids, baseline.last_sequence)
        self._jobs = {str(row["job_id"]): {name: row[name] for name in _JOB_FIELDS} for row in baseline.job_progress}
        self._tallies = {
            str(row["job_id"]): _Tally(
                cards=Counter({s: int(n) for s, n in dict(row["cards_by_status"]).items() if n}),
                sheets_cut=int(row["sheets_cut"]),
                sets_complete=int(row["sets_complete"]),
                sets_packed=int(row["sets_packed"]),
            )
            for row in baseline.job_progress
        }
        self._last_sequence = baseline.last_sequence
        self._queues = None

    def _read_families(self, sheet_ids: Iterable[str], upto: int) -> dict[str, ReferenceViews]:
        wanted = list(dict.fromkeys(sheet_ids))
        by_family: dict[str, list[RecordedEvent]] = {sheet: [] for sheet in wanted}
        for start in range(0, len(wanted), 200):  # a few hundred families' ranges per journal read
            for event in self._source.family_events(wanted[start : start + 200], upto):
                family = family_of(event)
                if family in by_family:
                    by_family[family].append(event)
        return {sheet: project(events) for sheet, events in by_family.items()}

    def _fold(self, events: Sequence[RecordedEvent]) -> None:
        touched: dict[str, list[RecordedEvent]] = {}
        for event in events:
            owner = family_of(event)
            if owner is not None:
                touched.setdefault(owner, []).append(event)
            elif event.aggregate_type == "job":
                view = evolve_job_view(None, event)
                if view is not None:
                    self._jobs[view.job_id] = {name: getattr(view, name) for name in _JOB_FIELDS}
        # Families closed before these events are read back as they stood just before them.
        reopened = self._read_families([f for f in touched if f not in self._families], self._last_sequence)
        for sheet_id, family_events in touched.items():
            family = self._families.get(sheet_id) or reopened.get(sheet_id) or _empty()
            before = _tally(family)
            for event in family_events:
                fold_into(family, event)
            job_id = sheet_id.split("-", 1)[0]  # a sheet id names its job (J1044-S003)
            tally = self._tallies.setdefault(job_id, _Tally(cards=Counter()))
            tally.add(before, -1)
            tally.add(_tally(family), +1)
            if _is_open(family):
                self._families[sheet_id] = family
            else:
                self._families.pop(sheet_id, None)

    # --- answers ------------------------------------------------------------------------------------------

    def _station_queues(self) -> dict[str, Row]:
        merged = _empty()
        for family in self._families.values():
            merged.card_units.update(family.card_units)
            merged.sheets.update(family.sheets)
            merged.assemblies.update(family.assemblies)
        return {
            station_id: {
                "station_id": queue.station_id,
                "station_type": queue.station_type,
                "waiting": list(queue.waiting),
                "in_progress": list(queue.in_progress),
                "waiting_units": len(queue.waiting),
                "in_progress_units": len(queue.in_progress),
                "waiting_minutes": queue.waiting_minutes,
                "in_progress_minutes": queue.in_progress_minutes,
            }
            for station_id, queue in station_queues(merged, self._factory).items()
        }

    def _progress_row(self, job: Row, tally: _Tally | None) -> Row:
        tally = tally or _Tally(cards=Counter())
        total_sheets = int(job["total_sheets"])
        return {
            **job,
            "cards_by_status": {status: tally.cards.get(status, 0) for status in CARD_STATUSES},
            "sheets_cut": tally.sheets_cut,
            "sets_complete": tally.sets_complete,
            "sets_packed": tally.sets_packed,
            "percent_complete": 100.0 * tally.sets_packed / total_sheets if total_sheets > 0 else 0.0,
        }
