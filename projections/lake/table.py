"""The Delta table of sealed events: the one module that knows where the lake is and how it is written.

The table is created append-only (`delta.appendOnly=true`) and partitioned by `event_date`. Each seal is one
Delta commit that also records a Delta *application transaction* (`txn` action, app id `cardtrace-sealer`)
whose version is the last sequence_num in that commit. Data and high-water mark land in the same atomic log
entry, so after a crash the lake itself says exactly what it holds: nothing is sealed twice or skipped.

The location is a URI: a local path, or `s3://bucket/prefix` configured from the usual AWS environment
variables (see `storage_options_for`). Only the holder of the sealer lock writes the table, which is what
makes S3 without a locking provider safe (`AWS_S3_ALLOW_UNSAFE_RENAME`).
"""

import contextlib
import fcntl
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pa_fs
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Transaction, WriterProperties, write_deltalake
from deltalake.fs import DeltaStorageHandler

from projections.data_dir import DataDir
from projections.lake.errors import LakeCorrupted, SealerBusy
from projections.lake.schema import LAKE_SCHEMA, PARTITION_COLUMN

SEALER_APP_ID: Final = "cardtrace-sealer"
TABLE_CONFIGURATION: Final[Mapping[str, str | None]] = {
    "delta.appendOnly": "true",
    # File statistics on every column a reader filters on; none on the payload, whose min/max JSON text prunes
    # nothing and costs a third of the writer's time (measured).
    "delta.dataSkippingStatsColumns": ",".join(
        name for name in LAKE_SCHEMA.names if name not in ("payload", PARTITION_COLUMN)
    ),
}
# zstd: about 4x smaller than snappy on JSON payloads and ids, and as fast to write here (measured).
WRITER_PROPERTIES: Final = WriterProperties(compression="ZSTD")
# Compacted files' row groups: small enough that one sheet's lookup decodes a few thousand rows, not a day's
# (10M-event lake: history + genealogy of a card 56 -> 30 ms against one row group per day); a fold scanning
# everything pays little for them.
LOOKUP_ROW_GROUP_ROWS: Final = 16_384
_S3_ENVIRONMENT: Final = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_ALLOW_HTTP",
    "AWS_S3_ALLOW_UNSAFE_RENAME",
    "AWS_S3_LOCKING_PROVIDER",
    "DELTA_DYNAMO_TABLE_NAME",
)
# Bounds on one call to object storage (object_store's client and retry settings, which delta-rs takes as
# storage options): its defaults wait up to 180 s on storage that accepts a connection and never answers.
# `CARDTRACE_S3_<NAME>` overrides one (e.g. CARDTRACE_S3_TIMEOUT=60s for a slow link). Polars takes the same
# options (so an analyst can pass them on), except a string max_retries: retry_timeout bounds the retries.
_S3_LIMITS: Final = {"timeout": "30s", "connect_timeout": "5s", "retry_timeout": "30s"}
# What delta-rs names its data files, optionally with object_store's staging suffix (`#n`) of an upload that
# was interrupted; anything else in the table directory was put there by someone else.
_DATA_FILE: Final = re.compile(
    rf"^({PARTITION_COLUMN}=[^/]+/)?part-\d{{5}}-[0-9a-f-]{{36}}-c\d{{3}}(\.[a-z0-9]+)?\.parquet(#\d+)?$"
)


def storage_options_for(uri: str) -> dict[str, str] | None:
    """Storage options for delta-rs from the environment; None for a local path.

    An `http://` endpoint (a local S3-compatible server) implies AWS_ALLOW_HTTP. Without a locking provider,
    unsafe rename is allowed because a single process (the sealer lock's holder) writes the table. Every call
    is bounded in time (`_S3_LIMITS`), so storage that hangs is an error after a while, not a stall.
    """
    if not uri.startswith("s3://"):
        return None
    options = {name: os.environ[name] for name in _S3_ENVIRONMENT if os.environ.get(name)}
    if "AWS_REGION" not in options and os.environ.get("AWS_DEFAULT_REGION"):
        options["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"]
    if options.get("AWS_ENDPOINT_URL", "").startswith("http://"):
        options.setdefault("AWS_ALLOW_HTTP", "true")
    if "AWS_S3_LOCKING_PROVIDER" not in options:
        options.setdefault("AWS_S3_ALLOW_UNSAFE_RENAME", "true")
    for name, default in _S3_LIMITS.items():
        options[name] = os.environ.get(f"CARDTRACE_S3_{name.upper()}") or default
    return options


@dataclass(frozen=True, kw_only=True, slots=True)
class LakeReport:
    """What `verify` found: the table is sound; `unreferenced` files are harmless but named."""

    uri: str
    version: int
    files: int
    rows: int
    high_water_mark: int
    # Data files no Delta version references now: compacted away (until vacuumed) or left by an interrupted
    # write. Readers never see them; they are listed so nothing in the directory goes unexplained.
    unreferenced: tuple[str, ...] = field(default=())


class LakeTable:
    """The events table at one URI."""

    def __init__(self, uri: str, storage_options: Mapping[str, str] | None = None) -> None:
        self.uri = uri
        self._options = dict(storage_options) if storage_options is not None else None
        self._table: DeltaTable | None = None

    @classmethod
    def for_data_dir(cls, data_dir: DataDir) -> "LakeTable":
        return cls(data_dir.lake_uri, storage_options_for(data_dir.lake_uri))

    @property
    def storage_options(self) -> dict[str, str] | None:
        return None if self._options is None else dict(self._options)

    def exists(self) -> bool:
        """Whether the table exists; OSError when its object storage does not answer (asked first, see below)."""
        if self._table is not None:  # opened once: a Delta table is never removed under its readers
            return True
        self._require_answering_storage()
        return bool(DeltaTable.is_deltatable(self.uri, storage_options=self._options))

    def _require_answering_storage(self, timeout_s: float = 5.0) -> None:
        """Ask object storage whether it answers at all (any HTTP status will do) with Python's own client, before
        the first delta-rs call: a delta-rs call waiting on storage that does not answer holds the GIL, and with
        it every thread of the process (acknowledgements too), for as long as its timeout (found in review)."""
        if self._options is None:
            return
        region = self._options.get("AWS_REGION", "us-east-1")
        endpoint = self._options.get("AWS_ENDPOINT_URL") or f"https://s3.{region}.amazonaws.com"
        try:
            urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout_s).close()
        except urllib.error.HTTPError:
            return  # it answered, if only to refuse an unsigned request
        except (OSError, ValueError) as error:
            raise OSError(f"{endpoint} does not answer ({error})") from error

    def holds_files(self) -> bool:
        """Whether anything is stored under the table's location (a table whose log was lost still has files)."""
        try:
            found = self._filesystem().get_file_info(pa_fs.FileSelector("", recursive=True, allow_not_found=True))
        except (FileNotFoundError, OSError):
            return False
        return any(entry.type == pa_fs.FileType.File for entry in found)

    def create_if_missing(self) -> None:
        if self._table is not None or self.exists():
            return
        if "://" not in self.uri:
            Path(self.uri).mkdir(parents=True, exist_ok=True)
        DeltaTable.create(
            self.uri,
            LAKE_SCHEMA,
            mode="ignore",
            partition_by=[PARTITION_COLUMN],
            configuration=TABLE_CONFIGURATION,
            storage_options=self._options,
        )
        self._table = None

    def delta(self) -> DeltaTable:
        """The table at its latest version (opened once, then brought up to date incrementally)."""
        if self._table is None:
            try:
                self._table = DeltaTable(self.uri, storage_options=self._options)
            except Exception as error:
                raise LakeCorrupted(f"{self.uri}/_delta_log", f"the Delta log does not open: {error}") from error
        else:
            self._table.update_incremental()
        return self._table

    def append_batch(self, events: pa.Table) -> int:
        """Append sealed events (lake schema, sequence order) in one commit; returns the new table version.

        The commit carries the batch's last sequence_num as the sealer's transaction version: the high-water
        mark moves in the same atomic step as the data.
        """
        if events.num_rows == 0:
            return self.delta().version()
        if events.schema != LAKE_SCHEMA:
            raise ValueError(f"events do not have the lake schema: {events.schema}")
        last = int(pc.max(events.column("sequence_num")).as_py())
        self.create_if_missing()
        table = self.delta()
        try:
            write_deltalake(
                table,
                events,
                mode="append",
                partition_by=[PARTITION_COLUMN],
                writer_properties=WRITER_PROPERTIES,
                commit_properties=CommitProperties(app_transactions=[Transaction(app_id=SEALER_APP_ID, version=last)]),
            )
        except BaseException:
            self._table = None  # whatever happened, re-read the log before the next write
            raise
        return int(table.version())

    def read_high_water_mark(self) -> int:
        """The last sequence_num in the table, from the log alone (no data file is read): 0 for none."""
        if not self.exists():
            return 0
        table = self.delta()
        sealed = table.transaction_version(SEALER_APP_ID)
        if sealed is not None:
            return int(sealed)
        return self._sequence_summary(table)[2]

    def _add_actions(self, table: DeltaTable) -> pa.Table:
        return pa.table(table.get_add_actions(flatten=True))

    def _sequence_summary(self, table: DeltaTable, actions: pa.Table | None = None) -> tuple[int, int, int]:
        """(rows, min, max) of sequence_num from the per-file statistics in the log."""
        actions = self._add_actions(table) if actions is None else actions
        if actions.num_rows == 0:
            return (0, 0, 0)
        rows = int(pc.sum(actions.column("num_records")).as_py() or 0)
        if "min.sequence_num" not in actions.column_names:
            raise LakeCorrupted(self.uri, "the Delta log has no statistics for sequence_num")
        low = int(pc.min(actions.column("min.sequence_num")).as_py() or 0)
        high = int(pc.max(actions.column("max.sequence_num")).as_py() or 0)
        return (rows, low, high)

    def verify(self, *, deep: bool = False) -> LakeReport:
        """Check the table opens, every file in its directory is accounted for, and sequence_num is 1..N.

        A foreign file, a missing or truncated data file (or, with `deep`, one whose Parquet footer does not
        read), or a sequence with a gap or a duplicate raises LakeCorrupted naming the path. The sequence check
        uses the log's statistics only (rows == max - min + 1 and min == 1), so it costs no data read.
        """
        table = self.delta()
        actions = self._add_actions(table)
        sizes = dict(zip(actions.column("path").to_pylist(), actions.column("size_bytes").to_pylist(), strict=True))
        problems: list[tuple[str, str]] = []
        unreferenced: list[str] = []
        seen: set[str] = set()
        filesystem = self._filesystem()
        for info in filesystem.get_file_info(pa_fs.FileSelector("", recursive=True)):
            if info.type != pa_fs.FileType.File:
                continue
            path = info.path.lstrip("/")
            if path.startswith("_delta_log/"):
                continue
            expected = sizes.get(path)
            if expected is not None:
                seen.add(path)
                if info.size != expected:
                    problems.append((path, f"damaged: {info.size} bytes on storage, the Delta log says {expected}"))
                elif deep:
                    problems.extend(_footer_problems(filesystem, path))
            elif _DATA_FILE.match(path):
                unreferenced.append(path)
            else:
                problems.append((path, "foreign file: not written by the lake and not referenced by the Delta log"))
        problems.extend((path, "missing: the Delta log references it") for path in sorted(set(sizes) - seen))
        rows, low, high = self._sequence_summary(table, actions)
        if rows and (low != 1 or high - low + 1 != rows):
            problems.append((self.uri, f"sequence_num is not gapless from 1: {rows} rows span {low}..{high}"))
        sealed = table.transaction_version(SEALER_APP_ID)
        if sealed is not None and rows and int(sealed) != high:
            problems.append((self.uri, f"the sealer's mark says {sealed} but the last sealed event is {high}"))
        if problems:
            path, problem = problems[0]
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise LakeCorrupted(_join(self.uri, path), problem + more)
        return LakeReport(
            uri=self.uri,
            version=int(table.version()),
            files=len(sizes),
            rows=rows,
            high_water_mark=high,
            unreferenced=tuple(sorted(unreferenced)),
        )

    def _filesystem(self) -> pa_fs.FileSystem:
        if "://" not in self.uri:
            # The local object store hides names with '#' (its own staging files): list the directory itself.
            return pa_fs.SubTreeFileSystem(str(Path(self.uri).resolve()), pa_fs.LocalFileSystem())
        # The same object store delta-rs writes through, with the same options.
        return pa_fs.PyFileSystem(DeltaStorageHandler(self.uri, self._options))

    def compact(self, row_group_rows: int = LOOKUP_ROW_GROUP_ROWS) -> dict[str, Any]:
        """Rewrite each partition that has several files into few files in lineage order, then checkpoint.

        A single-column z-order on `sheet_id` is a sort by sheet: a sheet's family (the sheet, its cards and
        replacements, its set, their memorabilia) lies together, and a job's sheets one after another, in row
        groups of `row_group_rows`, so a lookup by sheet or job reads one or two row groups of a day's file
        instead of all of it (the lake API's reads of one lineage filter on those columns). Compaction changes no
        data (Delta `dataChange=false`), which an append-only table allows; the old files stay (tombstoned)
        until a vacuum, so readers of older versions never lose a file mid-read.
        """
        properties = WriterProperties(compression="ZSTD", max_row_group_size=row_group_rows)
        table = self.delta()
        actions = self._add_actions(table)
        per_partition = pc.value_counts(actions.column(f"partition.{PARTITION_COLUMN}"))
        crowded = sorted(entry["values"].as_py() for entry in per_partition if entry["counts"].as_py() > 1)
        files_before = actions.num_rows
        rewritten = 0
        for day in crowded:
            metrics = table.optimize.z_order(
                ["sheet_id"],
                partition_filters=[(PARTITION_COLUMN, "=", str(day))],
                writer_properties=properties,
            )
            rewritten += int(metrics.get("numFilesRemoved", 0))
        table = self.delta()
        table.create_checkpoint()
        table.cleanup_metadata()
        return {
            "uri": self.uri,
            "partitions_compacted": [str(day) for day in crowded],
            "files_before": files_before,
            "files_rewritten": rewritten,
            "files_after": len(table.file_uris()),
            "version": int(table.version()),
            "checkpoint": int(table.version()),
        }


def _footer_problems(filesystem: pa_fs.FileSystem, path: str) -> list[tuple[str, str]]:
    try:
        with filesystem.open_input_file(path) as source:
            pq.read_metadata(source)
    except (OSError, pa.ArrowException) as error:
        return [(path, f"damaged: the Parquet footer does not read: {error}")]
    return []


def _join(uri: str, path: str) -> str:
    return uri if path == uri else f"{uri.rstrip('/')}/{path}"


# --- who may write the lake ---------------------------------------------------------------------------


def sealer_lock_path(data_dir: DataDir) -> Path:
    return data_dir.journal_path.parent / "sealer.lock"


class FileLock:
    """An exclusive, non-blocking flock on a file: released by close or by the process dying (kill -9 too)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, wait_s: float = 0.0) -> bool:
        """Take the lock; False if another holder keeps it for `wait_s` more seconds. A process that died holding
        it lets go only once the kernel has released its files, a few milliseconds after it is gone: a caller
        that follows such a death gives it a moment."""
        deadline = time.monotonic() + wait_s
        while not self._try():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def _try(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    @property
    def held(self) -> bool:
        return self._fd is not None

    def fileno(self) -> int:
        """The locked descriptor: a child process that inherits it holds the lock with this one."""
        if self._fd is None:
            raise RuntimeError(f"{self.path}: the lock is not held")
        return self._fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


@contextlib.contextmanager
def _compaction_lock(data_dir: DataDir, uri: str) -> Iterator[None]:
    lock = FileLock(sealer_lock_path(data_dir))
    if not lock.acquire() and uri.startswith("s3://"):
        # On S3 without a locking provider two concurrent Delta writers can overwrite each other's commit.
        raise SealerBusy(uri, "the sealer is running; compact an S3 lake while the service is stopped")
    # A local file system renames commits atomically and delta-rs checks the conflict, so compaction may run
    # beside a running sealer there.
    try:
        yield
    finally:
        lock.release()


def compact_lake(data_dir: DataDir) -> dict[str, Any]:
    """`cardtrace compact`: compact the small files of the lake and write a checkpoint; returns what it did.

    >>> import tempfile
    >>> from projections.data_dir import DataDir
    >>> compact_lake(DataDir(root=Path(tempfile.mkdtemp())))["compacted"]
    False
    """
    uri = data_dir.lake_uri
    lake = LakeTable(uri, storage_options_for(uri))
    if not lake.exists():
        return {"uri": uri, "compacted": False, "reason": "no lake yet: nothing has been sealed"}
    with _compaction_lock(data_dir, uri):
        done = lake.compact()
    return {"compacted": True, **done}


compact = compact_lake  # the name `cardtrace compact` may call it by
