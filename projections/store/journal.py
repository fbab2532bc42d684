"""The write-ahead journal: one SQLite file (WAL, synchronous=FULL) that acknowledges events.

It holds every event (`events`), the scan_id index with the outcome a retry must see again (`scans`) and a
cache of the lake's sealed high-water mark (`seal`). An aggregate's current version is its events' highest,
read from the UNIQUE (aggregate_id, aggregate_version) index: one source of truth, and one B-tree page fewer
for every aggregate a commit touches (format 1 kept a copy in an `aggregates` table). Times are
integer microseconds since the Unix epoch, UTC: exact, compact, and cheap to bind and to turn into Arrow
timestamps. Only the store's writer thread writes (one connection); every other thread reads through its own
connection, which WAL lets run beside the writer.
"""

import contextlib
import functools
import io
import json
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from core.envelope import AggregateType, RecordedEvent
from core.events import EVENT_TYPES, PayloadValue, payload_fields
from core.upcasting import upcast, upcast_payload
from projections.lake.schema import LAKE_SCHEMA, PARTITION_COLUMN, UTC_MICROSECONDS

FOLLOW_CHECK_S: Final = 1.0  # how often a following reader asks whether the journal file was replaced
JOURNAL_FORMAT: Final = 2  # PRAGMA user_version: bump with a migration when the tables change (see _MIGRATIONS)
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND: Final = timedelta(microseconds=1)
# The most ids one lookup query binds (an IN list or a VALUES list): far below SQLite's 32766 bound-parameter
# limit, big enough to amortise.
LOOKUP_CHUNK: Final = 500
WAL_AUTOCHECKPOINT_PAGES: Final = 1000  # SQLite's default: 4 MiB of 4 KiB pages
# Page caches are per connection and bounded, so memory does not grow with the log: the writer keeps the
# indexes it inserts into hot; each reader thread gets less.
WRITER_CACHE_KIB: Final = 65_536
READER_CACHE_KIB: Final = 8_192

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS events (
    sequence_num INTEGER PRIMARY KEY,
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    aggregate_version INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    job_id TEXT,
    sheet_id TEXT,
    card_unit_id TEXT,
    station_id TEXT,
    operator_id TEXT,
    scan_id TEXT,
    payload TEXT NOT NULL,
    UNIQUE (aggregate_id, aggregate_version)
);
CREATE TABLE IF NOT EXISTS scans (
    scan_id TEXT PRIMARY KEY,
    fingerprint TEXT,
    first_sequence INTEGER,
    last_sequence INTEGER,
    outcome TEXT,
    recorded_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seal (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    sealed_sequence INTEGER NOT NULL,
    sealed_at INTEGER NOT NULL
);
"""

# The writer binds the three columns it assigns first, then the tail the caller prepared; times are integer
# microseconds.
EVENT_INSERT_ORDER: Final = (
    "sequence_num",
    "aggregate_version",
    "recorded_at",
    "aggregate_type",
    "aggregate_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "job_id",
    "sheet_id",
    "card_unit_id",
    "station_id",
    "operator_id",
    "scan_id",
    "payload",
)
_INSERT_EVENT_HEAD: Final = f"INSERT INTO events ({', '.join(EVENT_INSERT_ORDER)})"
_EVENT_WIDTH: Final = len(EVENT_INSERT_ORDER)
_INSERT_SCAN_HEAD: Final = (
    "INSERT INTO scans (scan_id, fingerprint, first_sequence, last_sequence, outcome, recorded_at)"
)
UPSERT_SEAL: Final = (
    "INSERT INTO seal (singleton, sealed_sequence, sealed_at) VALUES (1, ?, ?)"
    " ON CONFLICT (singleton) DO UPDATE SET sealed_sequence = excluded.sealed_sequence,"
    " sealed_at = excluded.sealed_at WHERE excluded.sealed_sequence > seal.sealed_sequence"
)

_INTEGER_COLUMNS: Final = frozenset(
    {"sequence_num", "aggregate_version", "occurred_at", "recorded_at", "schema_version"}
)
_NULLABLE_COLUMNS: Final = frozenset({"job_id", "sheet_id", "card_unit_id", "station_id", "operator_id", "scan_id"})
# Columns in the lake's order (schema_version last, event_date derived), for every read.
_JOURNAL_COLUMNS: Final = tuple(name for name in LAKE_SCHEMA.names if name != PARTITION_COLUMN)
_EVENT_COLUMNS: Final = ", ".join(_JOURNAL_COLUMNS)

# The Arrow fast path: SQLite renders each row as one line, fields split by the unit separator (0x1F), NULL
# as NAK (0x15), and pyarrow's C++ CSV reader parses the lines: several times faster than building Python
# rows. It is checked, not trusted: a value holding a separator or line break breaks the run of sequence
# numbers, a value equal to the NULL mark breaks the NULL counts SQLite reports in the same query, and either
# sends that range down the plain, always-exact path. (JSON escapes every control character in the payload.)
_FIELD_SEPARATOR: Final = "\x1f"
_NULL_MARK: Final = "\x15"
_NULLABLE_ORDER: Final = tuple(name for name in _JOURNAL_COLUMNS if name in _NULLABLE_COLUMNS)
_LINE_FORMAT: Final = _FIELD_SEPARATOR.join("%d" if name in _INTEGER_COLUMNS else "%s" for name in _JOURNAL_COLUMNS)
# The NULL mark as a literal in the SQL text, not char(21): a function call per NULL cost ~4% of rendering.
_LINE_ARGUMENTS: Final = ", ".join(
    f"ifnull({name}, '{_NULL_MARK}')" if name in _NULLABLE_COLUMNS else name for name in _JOURNAL_COLUMNS
)
_SELECT_LINES: Final = (
    "SELECT count(*), "
    + ", ".join(f"count(*) - count({name})" for name in _NULLABLE_ORDER)
    + f", CAST(group_concat(format('{_LINE_FORMAT}', {_LINE_ARGUMENTS}), char(10)) AS BLOB)"
    " FROM events WHERE sequence_num > ? AND sequence_num <= ?"
)
_CSV_READ: Final = pa_csv.ReadOptions(column_names=list(_JOURNAL_COLUMNS), block_size=16 << 20)
_CSV_PARSE: Final = pa_csv.ParseOptions(
    delimiter=_FIELD_SEPARATOR, quote_char=False, escape_char=False, newlines_in_values=False
)
_CSV_CONVERT: Final = pa_csv.ConvertOptions(
    column_types={name: (pa.int64() if name in _INTEGER_COLUMNS else pa.string()) for name in _JOURNAL_COLUMNS},
    null_values=[_NULL_MARK],
    strings_can_be_null=True,
    quoted_strings_can_be_null=False,
)


def to_microseconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} has no time zone: the log keeps UTC instants only")
    return (moment - EPOCH) // MICROSECOND


def from_microseconds(microseconds: int) -> datetime:
    return EPOCH + timedelta(microseconds=microseconds)


class _Connection(sqlite3.Connection):
    """A connection a weak reference can point at (the C type can't be): a reader's connection then closes
    when its thread ends, instead of living as long as the store."""


def _file_identity(path: Path) -> tuple[int, int] | None:
    """Which file the path names (device, inode): another after a replacement; None while there is none."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return (found.st_dev, found.st_ino)


def connect(path: Path, *, writer: bool) -> sqlite3.Connection:
    # isolation_level=None: the store opens and ends every transaction itself (BEGIN IMMEDIATE ... COMMIT).
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0, factory=_Connection)
    if writer:
        connection.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
        connection.execute("PRAGMA journal_mode = WAL")
        # FULL: the WAL is fsynced at every commit, so an acknowledged append survives power loss, not just kill -9.
        connection.execute("PRAGMA synchronous = FULL")
        # A small WAL that is checkpointed often is rewritten in place: an fsync of blocks the file already has
        # costs far less than one that also grows the file (measured here: ~9,000 vs ~4,000 commits/s).
        connection.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
    else:
        connection.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")
        connection.execute("PRAGMA query_only = ON")
    return connection


# What brings a journal of format N - 1 to format N, run in one transaction with the new user_version.
_MIGRATIONS: Final = {
    # The versions table went: the events' own index answers it (see the module docstring).
    2: "DROP TABLE IF EXISTS aggregates;",
}


def create_tables(connection: sqlite3.Connection) -> None:
    """Create the tables of a new journal, or migrate an older one to JOURNAL_FORMAT."""
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    if version > JOURNAL_FORMAT:
        raise RuntimeError(f"journal format {version} is newer than this code's {JOURNAL_FORMAT}")
    if version == JOURNAL_FORMAT:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                connection.execute(statement)
        for step in range(max(version, 1) + 1, JOURNAL_FORMAT + 1):
            connection.execute(_MIGRATIONS[step])
        connection.execute(f"PRAGMA user_version = {JOURNAL_FORMAT}")
        connection.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            connection.execute("ROLLBACK")
        raise


class Readers:
    """One read connection per thread: sqlite3 connections must not be shared across threads mid-query.

    With `follow_replacement` (a reader in another process than the writer: the apps), a journal file put in
    the path's place (`cardtrace restore-journal`) is noticed within FOLLOW_CHECK_S and read from then on; an
    open connection would go on reading the replaced file, moved aside, for as long as the reader runs.
    """

    def __init__(self, path: Path, *, follow_replacement: bool = False) -> None:
        self._path = path
        self._local = threading.local()
        # Weak: a thread's connection goes (and closes) with the thread; close() closes the ones still alive.
        self._opened: weakref.WeakSet[sqlite3.Connection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._follow = follow_replacement
        self._file: tuple[int, int] | None = _file_identity(path) if follow_replacement else None
        self._checked_at = time.monotonic()
        self.generation = 0  # how many times the file was found replaced

    def get(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if self._follow:  # not on the writer's store (the scan path): its file cannot be replaced under it
            if time.monotonic() - self._checked_at > FOLLOW_CHECK_S:
                self._check_replaced()
            if connection is not None and self._local.generation != self.generation:
                connection.close()  # the file it reads was replaced
                connection = None
        if connection is None:
            connection = connect(self._path, writer=False)
            self._local.connection = connection
            self._local.generation = self.generation
            with self._lock:
                self._opened.add(connection)
        return connection

    def _check_replaced(self) -> None:
        with self._lock:
            self._checked_at = time.monotonic()
            now = _file_identity(self._path)
            if now is not None and now != self._file:
                self._file = now
                self.generation += 1

    def close(self) -> None:
        with self._lock:
            for connection in list(self._opened):
                connection.close()
            self._opened.clear()
        self._local = threading.local()


# --- reads --------------------------------------------------------------------------------------------


def last_sequence(connection: sqlite3.Connection) -> int:
    # max() of the INTEGER PRIMARY KEY is one step down the rowid B-tree: instant at any log length.
    row = connection.execute("SELECT max(sequence_num) FROM events").fetchone()
    return int(row[0] or 0)


def sealed_sequence(connection: sqlite3.Connection) -> int:
    row = connection.execute("SELECT sealed_sequence FROM seal WHERE singleton = 1").fetchone()
    return int(row[0]) if row else 0


# An event's aggregate, version, type and recorded_at (integer microseconds): recorded_at is the journal's own
# clock at the commit, so two plants' logs never share a key at the same sequence number.
EventKey = tuple[str, int, str, int]


def event_key(connection: sqlite3.Connection, sequence_num: int) -> EventKey | None:
    """What tells one log's event from another's (see `EventKey`), for the event of that number."""
    row = connection.execute(
        "SELECT aggregate_id, aggregate_version, event_type, recorded_at FROM events WHERE sequence_num = ?",
        (sequence_num,),
    ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]), str(row[2]), int(row[3]))


def recorded_at_of(connection: sqlite3.Connection, sequence_num: int) -> datetime | None:
    row = connection.execute("SELECT recorded_at FROM events WHERE sequence_num = ?", (sequence_num,)).fetchone()
    return from_microseconds(int(row[0])) if row else None


def versions_of(connection: sqlite3.Connection, aggregate_ids: Sequence[str]) -> dict[str, int]:
    """Current versions of the aggregates that exist; absent ids do not exist yet (version 0).

    Each is one step down the (aggregate_id, aggregate_version) index to its last entry (SQLite's max()
    optimization in a correlated subquery), however long the aggregate's history: a GROUP BY would walk it.
    """
    found: dict[str, int] = {}
    for start in range(0, len(aggregate_ids), LOOKUP_CHUNK):
        chunk = aggregate_ids[start : start + LOOKUP_CHUNK]
        for aggregate_id, version in connection.execute(_versions_query(len(chunk)), chunk):
            if version is not None:
                found[aggregate_id] = version
    return found


@functools.cache  # at most LOOKUP_CHUNK sizes
def _versions_query(size: int) -> str:
    ids = ", ".join(["(?)"] * size)
    return (
        f"WITH wanted (aggregate_id) AS (VALUES {ids}) SELECT aggregate_id,"
        " (SELECT max(aggregate_version) FROM events WHERE events.aggregate_id = wanted.aggregate_id)"
        " FROM wanted"
    )


ScanRow = tuple[str, str | None, int | None, int | None, str | None]


def scans_of(connection: sqlite3.Connection, scan_ids: Sequence[str]) -> dict[str, ScanRow]:
    found: dict[str, ScanRow] = {}
    for start in range(0, len(scan_ids), LOOKUP_CHUNK):
        chunk = scan_ids[start : start + LOOKUP_CHUNK]
        marks = ", ".join("?" * len(chunk))
        for row in connection.execute(
            "SELECT scan_id, fingerprint, first_sequence, last_sequence, outcome FROM scans"
            f" WHERE scan_id IN ({marks})",
            chunk,
        ):
            found[row[0]] = row
    return found


def event_rows(connection: sqlite3.Connection, where: str, parameters: Sequence[object]) -> list[Sequence[Any]]:
    """The journal rows (in `_JOURNAL_COLUMNS` order, by sequence) of `SELECT ... FROM events <where>`, fetched
    in one SQLite step as one JSON document.

    sqlite3 lets go of the GIL around every step, so a row-by-row fetch hands the GIL to another thread and back
    once per row: with concurrent readers a page of a hundred events cost several times its own work in
    switches. One step does all of SQLite's work without the GIL and hands back one string for `json.loads`.
    """
    rows: list[Sequence[Any]]
    if _ONE_STEP_FETCH:
        (document,) = connection.execute(
            f"SELECT json_group_array(json_array({_EVENT_COLUMNS})) FROM (SELECT {_EVENT_COLUMNS} FROM events {where})",
            parameters,
        ).fetchone()
        rows = json.loads(document)
    else:
        rows = connection.execute(f"SELECT {_EVENT_COLUMNS} FROM events {where}", parameters).fetchall()
    rows.sort(key=_by_sequence)  # the order is SQLite's to choose unless `where` says: put it back
    return rows


def _by_sequence(row: Sequence[Any]) -> int:
    return int(row[0])


def _has_json_functions() -> bool:
    with contextlib.closing(sqlite3.connect(":memory:")) as probe:
        try:
            probe.execute("SELECT json_group_array(json_array(1))").fetchone()
        except sqlite3.OperationalError:  # an SQLite built without JSON: row by row
            return False
    return True


_ONE_STEP_FETCH: Final = _has_json_functions()


def events_of_aggregate(connection: sqlite3.Connection, aggregate_id: str) -> list[RecordedEvent]:
    rows = event_rows(connection, "WHERE aggregate_id = ?", (aggregate_id,))
    return [recorded_event(row) for row in rows]


def events_between(connection: sqlite3.Connection, after: int, upto: int) -> list[RecordedEvent]:
    rows = event_rows(connection, "WHERE sequence_num > ? AND sequence_num <= ?", (after, upto))
    return [recorded_event(row) for row in rows]


def events_after(connection: sqlite3.Connection, after: int, limit: int) -> list[RecordedEvent]:
    rows = event_rows(connection, "WHERE sequence_num > ? ORDER BY sequence_num LIMIT ?", (after, limit))
    return [recorded_event(row) for row in rows]


# A feed row: the event's lake columns but the payload (times as ISO 8601 text), and its payload as JSON text.
FeedRow = tuple[dict[str, Any], str]


def feed_after(
    connection: sqlite3.Connection,
    after: int,
    limit: int,
    *,
    occurred_through: datetime | None = None,
    recorded_through: datetime | None = None,
) -> tuple[list[FeedRow], int]:
    """The event feed: of the first `limit` events after `after`, those inside the cut as `FeedRow`s, and the
    last sequence number looked at. No domain event is built and a payload of its event's current schema is
    passed on as the JSON text the journal keeps (an older one is upcast): a page is mostly text to pass on."""
    rows = event_rows(connection, "WHERE sequence_num > ? ORDER BY sequence_num LIMIT ?", (after, limit))
    occurred_limit = None if occurred_through is None else to_microseconds(occurred_through)
    recorded_limit = None if recorded_through is None else to_microseconds(recorded_through)
    feed: list[FeedRow] = []
    for row in rows:
        (sequence_num, aggregate_type, aggregate_id, aggregate_version, event_type, occurred_at, recorded_at,
         job_id, sheet_id, card_unit_id, station_id, operator_id, scan_id, payload, schema_version) = row  # fmt: skip
        if (occurred_limit is not None and occurred_at > occurred_limit) or (
            recorded_limit is not None and recorded_at > recorded_limit
        ):
            continue
        kind = EVENT_TYPES.get(event_type)
        if kind is None or schema_version != kind.schema_version:  # unknown, newer or older: upcast (or refuse)
            document = upcast_payload(event_type, schema_version, json.loads(payload))
            kind = EVENT_TYPES[event_type]  # known: upcast_payload refuses an unknown type
            payload = _PAYLOAD_TEXT.encode({name: document[name] for name in payload_fields(kind)})
        recorded = from_microseconds(recorded_at)
        feed.append(
            (
                {
                    "sequence_num": sequence_num,
                    "aggregate_type": aggregate_type,
                    "aggregate_id": aggregate_id,
                    "aggregate_version": aggregate_version,
                    "event_type": event_type,
                    "schema_version": kind.schema_version,
                    "occurred_at": from_microseconds(occurred_at).isoformat(),
                    "recorded_at": recorded.isoformat(),
                    "event_date": recorded.date().isoformat(),
                    "job_id": job_id,
                    "sheet_id": sheet_id,
                    "card_unit_id": card_unit_id,
                    "station_id": station_id,
                    "operator_id": operator_id,
                    "scan_id": scan_id,
                },
                payload,
            )
        )
    return feed, rows[-1][0] if rows else after


_PAYLOAD_TEXT: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)  # as stored


def recorded_event(row: Sequence[Any]) -> RecordedEvent:
    """A journal row (in `_JOURNAL_COLUMNS` order) as the log's event, its payload upcast to the current schema."""
    (
        sequence_num,
        aggregate_type,
        aggregate_id,
        aggregate_version,
        event_type,
        occurred_at,
        recorded_at,
        job_id,
        sheet_id,
        card_unit_id,
        station_id,
        operator_id,
        scan_id,
        payload,
        schema_version,
    ) = row
    document: dict[str, PayloadValue] = json.loads(payload)
    return RecordedEvent(
        sequence_num=sequence_num,
        aggregate_type=_aggregate_type(aggregate_type),
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
        event=upcast(event_type, schema_version, document),
        occurred_at=from_microseconds(occurred_at),
        recorded_at=from_microseconds(recorded_at),
        job_id=job_id,
        sheet_id=sheet_id,
        card_unit_id=card_unit_id,
        station_id=station_id,
        operator_id=operator_id,
        scan_id=scan_id,
    )


def _aggregate_type(value: str) -> AggregateType:
    match value:
        case "job" | "sheet" | "card_unit" | "assembly" | "pack" | "station" | "memorabilia":
            return value
    raise ValueError(f"unknown aggregate type {value!r} in the journal")


def arrow_between(connection: sqlite3.Connection, after: int, upto: int) -> pa.Table:
    """Events after..upto (inclusive) as an Arrow table with exactly the lake's schema, in sequence order."""
    table = parse_rendered(render_between(connection, after, upto))
    return table if table is not None else exact_arrow_between(connection, after, upto)


@dataclass(frozen=True, slots=True)
class RenderedRange:
    """Events after..upto as SQLite rendered them for the Arrow fast path (see `_SELECT_LINES`), not yet parsed:
    rendering needs the connection, parsing does not, so the sealer runs the two on different cores."""

    after: int
    upto: int
    count: int
    nulls: list[int]
    lines: bytes | None


def render_between(connection: sqlite3.Connection, after: int, upto: int) -> RenderedRange:
    if upto <= after:
        return RenderedRange(after=after, upto=upto, count=0, nulls=[], lines=None)
    count, *nulls, lines = connection.execute(_SELECT_LINES, (after, upto)).fetchone()
    return RenderedRange(after=after, upto=upto, count=int(count), nulls=nulls, lines=lines)


def parse_rendered(rendered: RenderedRange) -> pa.Table | None:
    """The rendered events as a table of the lake's schema, or None when the text can't be trusted (a value
    held a separator or the NULL mark): then read them with `exact_arrow_between`."""
    if not rendered.count:
        return LAKE_SCHEMA.empty_table()
    if rendered.lines is None:
        return None
    try:
        parsed = pa_csv.read_csv(
            io.BytesIO(rendered.lines), read_options=_CSV_READ, parse_options=_CSV_PARSE, convert_options=_CSV_CONVERT
        )
    except pa.ArrowInvalid:
        return None
    if (
        not _is_run(parsed.column("sequence_num"), rendered.after + 1, rendered.count)
        or [parsed.column(name).null_count for name in _NULLABLE_ORDER] != rendered.nulls
    ):
        return None
    return _as_lake_table(parsed)


def exact_arrow_between(connection: sqlite3.Connection, after: int, upto: int) -> pa.Table:
    """`arrow_between` by the slow, always-exact path: plain rows through Python objects."""
    return _as_lake_table(_arrow_from_rows(connection, after, upto))


def _is_run(sequence: pa.ChunkedArray, first: int, count: int) -> bool:
    """True when the column is exactly first, first+1, ... (count values): what a gapless range must parse to."""
    if len(sequence) != count or sequence.null_count:
        return False
    if count == 1:
        return bool(sequence[0].as_py() == first)
    steps = pc.pairwise_diff(sequence.combine_chunks())
    return bool(sequence[0].as_py() == first and pc.all(pc.equal(steps.slice(1), 1)).as_py())


@dataclass(frozen=True, slots=True)
class JournalLineage:
    """A lineage's events as the log's values, and as a table of the lake's columns only when asked: a fold
    reads the events, and a history frame (rarely wanted with them) costs more to build than the fold."""

    rows: list[Sequence[Any]]  # journal rows in `_JOURNAL_COLUMNS` order, in sequence order
    events: list[RecordedEvent]

    def table(self) -> pa.Table:
        return _as_lake_table(_table_of_rows(self.rows))


def lineage_of_aggregates(
    connection: sqlite3.Connection, ranges: Sequence[tuple[str, str]], upto: int
) -> JournalLineage:
    """Events through `upto` of the aggregates whose ids fall in any `[low, high)` range, in sequence order: a
    lineage ('J1044-S003' and its cards, 'A-J1044-S003') found by the (aggregate_id, aggregate_version) index,
    sealed or not, read once."""
    rows: list[Sequence[Any]] = []
    for low, high in ranges:
        rows += event_rows(
            connection, "WHERE aggregate_id >= ? AND aggregate_id < ? AND sequence_num <= ?", (low, high, upto)
        )
    rows.sort(key=_by_sequence)
    return JournalLineage(rows, [recorded_event(row) for row in rows])


def _arrow_from_rows(connection: sqlite3.Connection, after: int, upto: int) -> pa.Table:
    """The slow, always-exact path: plain rows through Python objects."""
    rows = connection.execute(
        f"SELECT {_EVENT_COLUMNS} FROM events WHERE sequence_num > ? AND sequence_num <= ? ORDER BY sequence_num",
        (after, upto),
    ).fetchall()
    return _table_of_rows(rows)


def _table_of_rows(rows: Sequence[Sequence[Any]]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in _JOURNAL_COLUMNS]
    return pa.table(
        {
            name: pa.array(values, type=pa.int64() if name in _INTEGER_COLUMNS else pa.string())
            for name, values in zip(_JOURNAL_COLUMNS, columns, strict=True)
        }
    )


def _as_lake_table(parsed: pa.Table) -> pa.Table:
    recorded_at = parsed.column("recorded_at").cast(UTC_MICROSECONDS)
    arrays: list[pa.ChunkedArray] = []
    for field in LAKE_SCHEMA:
        if field.name == PARTITION_COLUMN:
            arrays.append(pc.cast(recorded_at, pa.date32()))
        elif field.name == "recorded_at":
            arrays.append(recorded_at)
        else:
            arrays.append(parsed.column(field.name).cast(field.type))
    return pa.Table.from_arrays(arrays, schema=LAKE_SCHEMA)


# --- writes -------------------------------------------------------------------------------------------

EventRow = tuple[object, ...]
ScanInsert = tuple[str, str | None, int | None, int | None, str | None, int]

# Rows go in as multi-row INSERTs of these sizes (full statements of 512 rows, then the remainder in binary
# pieces): a handful of cached statements, and one sqlite3_step per statement rather than per row. Each step
# releases and re-takes the GIL, and while other threads run Python every re-take can wait a switch interval
# (5 ms): fewer steps keep group commits short (64 rows per statement bulk-appended ~10% slower, measured).
# 512 rows of 15 values stay under SQLite's 32,766 bound parameters; an older library's lower limit is read.
_ROWS_PER_STATEMENT: Final = 512


def _insert_many(
    connection: sqlite3.Connection, head: str, width: int, tail: str, rows: Sequence[tuple[object, ...]]
) -> None:
    _insert_flat(connection, head, width, tail, list(chain.from_iterable(rows)))


def _insert_flat(connection: sqlite3.Connection, head: str, width: int, tail: str, values: list[object]) -> None:
    """Insert rows given as one flat list of `width` values per row."""
    if len(values) % width:
        raise ValueError(f"{len(values)} values do not make rows of {width}")
    position = 0
    remaining = len(values) // width
    most = min(_ROWS_PER_STATEMENT, connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width)
    while remaining:
        size = most if remaining >= most else 1 << (remaining.bit_length() - 1)
        end = position + size * width
        connection.execute(_statement(head, width, tail, size), values[position:end])
        position = end
        remaining -= size


_STATEMENTS: dict[tuple[str, str, int], str] = {}


def _statement(head: str, width: int, tail: str, size: int) -> str:
    key = (head, tail, size)
    statement = _STATEMENTS.get(key)
    if statement is None:
        values = "(" + ", ".join("?" * width) + ")"
        statement = f"{head} VALUES {', '.join([values] * size)}{tail}"
        _STATEMENTS[key] = statement
    return statement


def commit(
    connection: sqlite3.Connection,
    *,
    events: Sequence[EventRow] = (),
    event_values: list[object] | None = None,
    scans: Sequence[ScanInsert],
    seal_mark: tuple[int, int] | None,
) -> None:
    """One transaction: every row or none. Returns after the WAL is fsynced (synchronous=FULL).

    Events come as rows or, from the writer, already flat (`event_values`: 15 values per event, in the
    INSERT's order), which spares a tuple per event.
    """
    with _transaction(connection):
        _insert_many(connection, _INSERT_EVENT_HEAD, _EVENT_WIDTH, "", events)
        if event_values:
            _insert_flat(connection, _INSERT_EVENT_HEAD, _EVENT_WIDTH, "", event_values)
        _insert_many(connection, _INSERT_SCAN_HEAD, 6, "", scans)
        if seal_mark is not None:
            connection.execute(UPSERT_SEAL, seal_mark)


def restore(
    connection: sqlite3.Connection,
    *,
    event_slices: Iterable[list[object]],
    scans: Sequence[ScanInsert],
    seal_mark: tuple[int, int],
) -> None:
    """Events copied back from the lake (`projections.store.recovery`) and their scans, in one transaction.

    Each slice is flat, 15 values per event in the INSERT's order; a scan_id the journal already holds keeps
    its own row (with its fingerprint and answer).
    """
    with _transaction(connection):
        for values in event_slices:
            _insert_flat(connection, _INSERT_EVENT_HEAD, _EVENT_WIDTH, "", values)
        _insert_many(connection, _INSERT_SCAN_HEAD, 6, " ON CONFLICT (scan_id) DO NOTHING", scans)
        connection.execute(UPSERT_SEAL, seal_mark)


@contextlib.contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any failure: every row or none."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        raise
