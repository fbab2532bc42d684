"""What the event store refuses, each with a message that names the problem.

The ingest layer maps them to HTTP: ConcurrencyConflict -> 409 (decide again on fresh state and retry),
ScanIdReused -> 422, DurabilityError -> 503 (nothing was acknowledged). LakeCorrupted, JournalInUse and
JournalBehindLake are operator problems: they name the file and what is wrong with it. The lake's own errors
are defined in `projections.lake.errors` (the lake sits below the store) and re-exported here.
"""

from projections.lake.errors import LakeCorrupted, LakeError, SealerBusy

__all__ = [
    "ConcurrencyConflict",
    "DurabilityError",
    "EventStoreError",
    "JournalBehindLake",
    "JournalInUse",
    "LakeCorrupted",
    "LakeError",
    "ScanIdReused",
    "SealerBusy",
]


class EventStoreError(Exception):
    """Base of every error the event store raises on purpose."""


class ConcurrencyConflict(EventStoreError):
    """An aggregate moved on since the decision read it: nothing of the append was written."""

    def __init__(self, aggregate_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"aggregate {aggregate_id} is at version {actual} but the decision read version {expected}; "
            "nothing was written: decide again on the current state"
        )
        self.aggregate_id = aggregate_id
        self.expected = expected
        self.actual = actual


class ScanIdReused(EventStoreError):
    """A scan_id already recorded for a scan with other content: a client bug, never a silent replay."""

    def __init__(self, scan_id: str, detail: str | None = None) -> None:
        super().__init__(detail or f"scan_id {scan_id!r} was already recorded for a scan with different content")
        self.scan_id = scan_id


class DurabilityError(EventStoreError):
    """The append could not be made durable (disk full, I/O error, store closed): it was not acknowledged."""


class JournalInUse(EventStoreError):
    """Another process holds the journal for writing; one writer per journal keeps versions and sequence exact."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path}: the journal is open for writing in another process; open it with read_only=True to read"
        )
        self.path = path


class JournalBehindLake(EventStoreError):
    """The lake holds (or may hold) events the journal does not: the journal was lost, or restored from an older
    copy. Appending would give new events sequence numbers the lake already holds for others, so a store refuses
    to open for writing until `cardtrace recover-journal` has copied the lake's events back into the journal.
    """

    def __init__(
        self, path: str, journal_last: int, lake_uri: str, lake_last: int | None, *, problem: str | None = None
    ) -> None:
        if lake_last is None:  # an empty journal beside a lake whose log cannot be read
            message = (
                f"{path}: the journal is empty but the lake {lake_uri} cannot be read ({problem}), so it cannot be"
                " told whether the lake holds events the journal lost: mend the lake, or run"
                " `cardtrace recover-journal` once it reads"
            )
        else:
            message = (
                f"{path}: the journal ends at sequence_num {journal_last} but the lake {lake_uri} holds events up"
                f" to {lake_last}: the journal was lost or restored from an older copy, and nothing can be"
                f" appended until it holds them too. Run `cardtrace recover-journal` to copy events"
                f" {journal_last + 1}..{lake_last} from the lake into it (or put back a newer copy of the journal)."
            )
        super().__init__(message)
        self.path = path
        self.journal_last = journal_last
        self.lake_uri = lake_uri
        self.lake_last = lake_last


class JournalCopyError(EventStoreError):
    """A backup of the journal, or putting one back, was refused or failed; nothing was left half-written."""
