"""Whether a journal and the lake at its URI hold one history: checked before anything is appended or sealed.

They do when the lake is no further than the journal and the lake's last event is the journal's event of that
number (the same `EventKey`: aggregate, version, type and recorded_at, the journal's own clock). Content, not
a table id, decides, so a lake sealed again from this journal after it was lost is still this journal's lake,
and another plant's lake at the same URI never is.

- The lake ahead of the journal (the journal lost, or put back from an older copy): JournalBehindLake. Nothing
  may be appended until `cardtrace recover-journal` has copied the missing events, or new events would take
  numbers the lake holds for others.
- Another history, or a lake whose log cannot be read: a LakeCorrupted lake problem. The journal, the system
  of record, goes on acknowledging; nothing is sealed into that lake. Except when the journal is empty: then
  nobody can tell whether the unreadable lake holds events it lost, and it is refused like a lake ahead.
"""

from collections.abc import Callable
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds

from projections.lake.table import LakeTable
from projections.store.errors import JournalBehindLake, LakeCorrupted
from projections.store.journal import EventKey

KEY_COLUMNS = ("aggregate_id", "aggregate_version", "event_type", "recorded_at")


def pair(
    lake: LakeTable, journal_last: int, journal_key: Callable[[int], EventKey | None], journal_path: Path
) -> tuple[int, LakeCorrupted | None]:
    """(the lake's high-water mark, None) when the lake holds this journal's history and no more; (0, problem)
    for a lake problem. Raises JournalBehindLake when the lake may hold events the journal does not."""
    try:
        if not lake.exists():
            if not lake.holds_files():
                return 0, None  # created by the first seal
            raise LakeCorrupted(lake.uri, "data files but no Delta log: its history cannot be read")
        sealed = lake.read_high_water_mark()
    except Exception as error:  # damaged, or out of reach (object storage down): nobody can tell what it holds
        problem = error if isinstance(error, LakeCorrupted) else LakeCorrupted(lake.uri, f"cannot be read: {error}")
        if journal_last == 0:
            raise JournalBehindLake(str(journal_path), 0, lake.uri, None, problem=str(problem)) from error
        return 0, problem
    if sealed > journal_last:
        raise JournalBehindLake(str(journal_path), journal_last, lake.uri, sealed)
    if sealed == 0:
        return 0, None
    try:
        differs = disagreement(lake, journal_key, sealed)
    except LakeCorrupted as problem:
        return 0, problem
    if differs is not None:
        mine, theirs = differs
        return 0, LakeCorrupted(
            lake.uri,
            f"another history: its event {sealed} is {describe(theirs)}, the journal's is {describe(mine)}"
            " (a data directory or CARDTRACE_LAKE_URI pointing at another plant's lake?); nothing is sealed into it",
        )
    return sealed, None


def disagreement(
    lake: LakeTable,
    journal_key: Callable[[int], EventKey | None],
    sequence_num: int,
    dataset: ds.Dataset | None = None,
) -> tuple[EventKey | None, EventKey | None] | None:
    """None when the lake's event of that number is the journal's; else (the journal's, the lake's)."""
    mine, theirs = journal_key(sequence_num), lake_key(lake, sequence_num, dataset)
    return None if mine == theirs else (mine, theirs)


def lake_key(lake: LakeTable, sequence_num: int, dataset: ds.Dataset | None = None) -> EventKey | None:
    """The lake's event of that number, as an EventKey (file and row-group statistics narrow the read)."""
    source = lake.delta().to_pyarrow_dataset() if dataset is None else dataset  # LakeCorrupted if no log opens
    try:
        rows = source.to_table(filter=ds.field("sequence_num") == sequence_num, columns=list(KEY_COLUMNS))
    except Exception as error:  # a data file missing or damaged under the log
        raise LakeCorrupted(lake.uri, f"event {sequence_num} cannot be read: {error}") from error
    if rows.num_rows != 1:
        return None
    recorded = pc.cast(rows.column("recorded_at"), "int64")[0].as_py()
    return (
        str(rows.column("aggregate_id")[0].as_py()),
        int(rows.column("aggregate_version")[0].as_py()),
        str(rows.column("event_type")[0].as_py()),
        int(recorded),
    )


def describe(key: EventKey | None) -> str:
    if key is None:
        return "missing"
    aggregate_id, version, event_type, _ = key
    return f"{event_type} of {aggregate_id} v{version}"
